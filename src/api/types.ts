// The four kinds of iam.gatehouse.dev/v1alpha1 as TypeScript types. crds/*.yaml is the contract;
// test/unit/api/types.test.ts checks that these field names match the CRD schemas.

export const GROUP = 'iam.gatehouse.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const KINDS = ['User', 'Role', 'Team', 'RoleBinding'] as const;
export type GatehouseKind = (typeof KINDS)[number];

/** Plural resource names, as they appear in permissions and in the API server's URLs. */
export const PLURALS: Readonly<Record<GatehouseKind, string>> = Object.freeze({
  User: 'users',
  Role: 'roles',
  Team: 'teams',
  RoleBinding: 'rolebindings',
});

/** Labels and annotations Gatehouse reads or writes. */
export const LABELS = Object.freeze({
  /** On a Namespace: the Team that owns it (counts as one of the team's namespaces). */
  team: `${GROUP}/team`,
  /** On a Namespace: the username of its owner (Polyaxon-style project ownership). */
  owner: `${GROUP}/owner`,
  /** On a Namespace: `public` gives every Active user the configured public role there. */
  visibility: `${GROUP}/visibility`,
  /** On a User: written by the operator for seed admins from the configuration. */
  seed: `${GROUP}/seed`,
  /** On a Role: written by the operator for roles it keeps from an enabled preset. */
  preset: `${GROUP}/preset`,
});

export const USER_STATES = ['Pending', 'Active', 'Rejected', 'Suspended'] as const;
export type UserState = (typeof USER_STATES)[number];

export interface ObjectMeta {
  name: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** Status fields every kind has; GitOps health (Argo CD) reads these. */
export interface CommonStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

/** A Kubernetes LabelSelector requirement (issue 30: which clusters an object holds on). */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
/**
 * `spec.clusters` on RoleBinding and User: a LabelSelector over the cluster's labels plus a list of
 * cluster names (either selects). Unset or empty: every cluster. src/fleet/cluster.ts reads it.
 */
export interface ClusterSelector {
  names?: string[];
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface UserSpec {
  /** Identity exactly as the API server's authenticator reports it; defaults to metadata.name. */
  username?: string;
  email?: string;
  displayName?: string;
  state: UserState;
  superuser?: boolean;
  /** The clusters this user may act on (issue 30); elsewhere every request is denied. Unset: all. */
  clusters?: ClusterSelector;
}
export interface UserStatus extends CommonStatus {
  /** The last time Gatehouse let this user in (RFC 3339, to the second; webhook mode only; issue 24). */
  lastUsedAt?: string;
  phase?: string;
  teams?: string[];
  roles?: string[];
  seed?: boolean;
  /** Modes rbac and both: how many native binding objects Gatehouse writes name the user. */
  rbacObjects?: number;
}
export interface User {
  apiVersion?: string;
  kind?: 'User';
  metadata: ObjectMeta;
  spec: UserSpec;
  status?: UserStatus;
}

/** A Kubernetes-style PolicyRule (rbac.authorization.k8s.io/v1 shape). */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
export interface RoleSpec {
  description?: string;
  permissions?: string[];
  rules?: PolicyRule[];
  includes?: string[];
  canAssign?: string[];
  /** Whether and how the role may be asked for with an AccessRequest (src/requests/). */
  requestable?: RoleRequestable;
}
/** Role.spec.requestable (docs/design.md, "Access requests"). */
export interface RoleRequestable {
  /** The longest grant an approval makes (`4h`); default 8h. */
  maxDuration?: string;
  /** Users or Teams; empty or absent: whoever could bind the role in the scope (superusers, canAssign). */
  approvers?: Array<{ kind: 'User' | 'Team'; name: string }>;
  /** How many distinct approvers must approve (default 1). */
  approvals?: number;
}
export interface RoleStatus extends CommonStatus {
  permissionCount?: number;
  invalidPermissions?: string[];
  missingIncludes?: string[];
  bindingCount?: number;
}
export interface Role {
  apiVersion?: string;
  kind?: 'Role';
  metadata: ObjectMeta;
  spec: RoleSpec;
  status?: RoleStatus;
}

/** A budget in ResourceQuota's resource names (`requests.nvidia.com/gpu`, `pods`, ...) and quantities. */
export type ResourceList = Record<string, string | number>;
export interface TeamQuota {
  /** The team's budget across its namespaces and its subtree's (docs/quotas.md). */
  hard?: ResourceList;
}
export interface TeamSpec {
  description?: string;
  members?: string[];
  groups?: string[];
  namespaces?: string[];
  /** The Team above this one (a department above its projects); unset: a root. */
  parent?: string;
  quota?: TeamQuota;
}
export interface TeamStatus extends CommonStatus {
  memberCount?: number;
  namespaces?: string[];
  missingMembers?: string[];
  /** The parent as the tree resolved it (printer column). */
  parent?: string;
  /** Budget and use aggregated over the subtree, as the ResourceQuota controller reports use. */
  quota?: { hard?: Record<string, string>; used?: Record<string, string> };
  /** `used/hard` of requests.nvidia.com/gpu over the subtree, for the printer column. */
  gpu?: string;
}
export interface Team {
  apiVersion?: string;
  kind?: 'Team';
  metadata: ObjectMeta;
  spec: TeamSpec;
  status?: TeamStatus;
}

export const SUBJECT_KINDS = ['User', 'Team', 'Group'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];
export interface Subject {
  kind: SubjectKind;
  name: string;
}
/** Exactly one of the three is set (the CRD schema enforces it). */
export interface Scope {
  cluster?: boolean;
  teams?: string[];
  namespaces?: string[];
}
export interface RoleBindingSpec {
  role: string;
  subjects: Subject[];
  scope: Scope;
  expiresAt?: string;
  /** The clusters this binding is in force on (issue 30). Unset: all. */
  clusters?: ClusterSelector;
}
export interface RoleBindingStatus extends CommonStatus {
  /** The last time this binding let someone in (RFC 3339, to the second; webhook mode only; issue 24). */
  lastUsedAt?: string;
  /** A one-line rendering of the scope for printer columns: `cluster`, `teams: a,b`, `namespaces: x`. */
  scope?: string;
  subjectCount?: number;
  roleFound?: boolean;
  unresolvedSubjects?: string[];
  resolvedNamespaces?: string[];
  expired?: boolean;
}
export interface RoleBinding {
  apiVersion?: string;
  kind?: 'RoleBinding';
  metadata: ObjectMeta;
  spec: RoleBindingSpec;
  status?: RoleBindingStatus;
}

/** The part of a core/v1 Namespace that Gatehouse reads. */
export interface Namespace {
  apiVersion?: string;
  kind?: 'Namespace';
  metadata: ObjectMeta;
}

