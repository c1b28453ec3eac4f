// The admission policy's inputs and outputs, and the narrow view of the permission index it needs.
// Pure data. The AdmissionReview adapter (src/webhook/admission.ts) decodes a review once into an
// AdmissionReviewRequest; review.ts normalises that to AdmissionInput for the validators, and
// answers with a ValidationResult or a MutationResult, which the adapter encodes.
import type { GatehouseConfig } from '../config.js';
import type { Role, RoleBinding, Scope, Team, User } from '../api/types.js';
import type { Requester } from '../authz/types.js';
import type { HeldScopes } from '../authz/scope.js';

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** An AdmissionReview's request, decoded and checked once at the edge (src/webhook/admission.ts). */
export interface AdmissionReviewRequest {
  apiVersion: AdmissionApiVersion;
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  /** Who is writing (userInfo); `extra` is left out on purpose (it can carry credentials). */
  requester: Requester;
  /** The object as written (absent for DELETE); an object, its fields unchecked: validators read it. */
  object?: Record<string, unknown>;
  /** The stored object (UPDATE, DELETE). */
  oldObject?: Record<string, unknown>;
  dryRun: boolean;
}

/** The validating answer, for AdmissionResponse. */
export interface ValidationResult {
  allowed: boolean;
  /** Why it was denied, for the person running kubectl. */
  message?: string;
  /** HTTP-like code for the denial (default 403). */
  code?: number;
  warnings?: readonly string[];
}
export type AdmissionKind = 'User' | 'Role' | 'Team' | 'RoleBinding' | 'Namespace' | 'AccessRequest';

/** One admission request, normalised from AdmissionReview v1 or v1beta1. */
export interface AdmissionInput {
  operation: Operation;
  kind: AdmissionKind;
  name: string;
  /** The object after the change (null on DELETE). */
  object: unknown;
  /** The object before the change (null on CREATE). */
  oldObject: unknown;
  requester: Requester;
  dryRun: boolean;
  /** Set when the request is for a subresource (`status`); the policy leaves those to RBAC. */
  subResource?: string;
}

/** Stable rule ids: docs/admission.md lists each with an example denial. */
export type RuleId =
  | 'malformed-object'
  | 'invalid-name'
  | 'invalid-field'
  | 'permission-syntax'
  | 'one-scope'
  | 'expires-at'
  | 'duplicate-subject'
  | 'username-unique'
  | 'username-form'
  | 'username-change'
  | 'role-include-cycle'
  | 'superuser-only'
  | 'approve-only'
  | 'no-escalation'
  | 'self-service'
  | 'registration'
  | 'last-superuser'
  | 'seed-protected'
  | 'namespace-labels'
  | 'metadata-protected'
  | 'delegated-scope'
  | 'not-synced'
  | 'team-tree'
  | 'quota-budget'
  // Fleet (issue 30): spec.clusters on User and RoleBinding (src/fleet/validate.ts).
  | 'cluster-selector'
  // Access requests (src/admission/accessrequest.ts).
  | 'request-requester'
  | 'request-not-requestable'
  | 'request-duration'
  | 'request-immutable'
  | 'request-decision'
  | 'request-self-approval'
  | 'request-approver'
  | 'request-inactive';

export interface FieldError {
  /** A field path like `spec.scope.teams[0]`; `metadata` or `` for the object as a whole. */
  path: string;
  message: string;
  rule: RuleId;
}

export interface AdmissionResult {
  allowed: boolean;
  errors: FieldError[];
  warnings: string[];
}

/** A JSONPatch (RFC 6902) operation, as AdmissionResponse.patch carries. */
export interface PatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

/** The mutating answer: no patch (or an empty one) changes nothing. */
export interface MutationResult {
  patch?: readonly PatchOp[];
  warnings?: readonly string[];
}

/** The attributes scopesHolding() asks about (a Gatehouse permission's group, resource and verb). */
export interface PermissionAttrs {
  group: string;
  resource: string;
  verb: string;
}

/**
 * What the admission policy needs from the permission index, and nothing more. src/admission/view.ts
 * adapts the core's PermissionIndex to it; tests may fill one directly.
 */
export interface PolicyView {
  /** A User by metadata.name. */
  user(name: string): User | undefined;
  /** The User whose (defaulted) spec.username is this identity. */
  userByUsername(username: string): User | undefined;
  /** Usernames of every Active superuser (User objects and configured seed admins). */
  activeSuperusers(): readonly string[];
  role(name: string): Role | undefined;
  team(name: string): Team | undefined;
  listBindings(): readonly RoleBinding[];
  /**
   * What the requester lacks, as readable pieces (`pods:delete in namespace b`), to hold everything
   * Role `name` grants (includes and rules too) in the whole of `scope`. Empty: nothing lacking.
   */
  missingRolePermissions(requester: Requester, name: string, scope: Scope): string[];
  /** Active superuser (User exists, Active, superuser: true). */
  isSuperuser(requester: Requester): boolean;
  /** What of `permissions` the requester does not hold in the whole of `scope`, as readable pieces. */
  missingPermissions(requester: Requester, permissions: readonly string[], scope: Scope): string[];
  /**
   * Whether the requester may bind `role` in the whole of `scope`: holds its permissions there or
   * holds there a role whose canAssign lists it, and may assign the same way every role the role's
   * holders could assign in turn (authz/queries.ts canAssign). `reason` says why not.
   */
  assign(requester: Requester, role: string, scope: Scope): { allowed: boolean; reason: string; chained?: string };
  /** Whether every request Role `inner` grants, Role `outer` grants too (false when either is missing). */
  roleCovers(outer: string, inner: string): boolean;
  /** The same view, with bindings live or expired as they are at `time` (ms; Infinity: for good). */
  at(time: number): PolicyView;
  /** When the requester's live grants that expire do (ms, unordered); empty when none expires. */
  expiries(requester: Requester): number[];
  /** Where the requester holds the permission `group/resource:verb`. */
  scopesHolding(requester: Requester, attrs: PermissionAttrs): HeldScopes;
  /** Whether the requester holds `me` (in any scope). */
  holdsMe(requester: Requester): boolean;
  /**
   * Whether `owner` (a namespace's owner, as namespaceOwner() reads it) is the requester, through
   * the index's one resolution of names to Users, and the requester is Active.
   */
  ownsNamespace(requester: Requester, owner: string): boolean;
  /** Namespaces a team owns now (spec.namespaces and namespaces labelled with the team). */
  teamNamespaces(team: string): readonly string[];
  /** `team`, its parent, and so on up to the root, as the index has the tree now (a cycle once). */
  teamAncestorsOrSelf(team: string): readonly string[];
  /** Teams naming `team` as their parent now. */
  teamChildren(team: string): readonly string[];
  /** The namespaces a `teams: [team]` scope covers now (the team's and every team's below it). */
  subtreeNamespaces(team: string): readonly string[];
  listTeams(): readonly Team[];
}

/** What the policy is built from. `view()` returns the current snapshot or undefined before sync. */
export interface AdmissionContext {
  config: Pick<GatehouseConfig, 'seedAdmins' | 'registration' | 'authorization' | 'operator' | 'defaults' | 'projects' | 'teams' | 'cluster'>;
  view(): PolicyView | undefined;
  now(): number;
  /**
   * Identities Gatehouse's authorizer leaves alone (service accounts, `system:` users, the
   * configured ignore lists: Argo CD, CI) are authorized by native RBAC only. When true (the
   * default) the privilege rules trust RBAC for them; semantic checks, no-lockout and seed
   * protection still apply.
   */
  trustUnmanagedIdentities?: boolean;
}
