// The core's request and decision types: what the authorization webhook, the admission webhook and
// the CLI pass to decide() and get back. Pure data; no Kubernetes client, no I/O.
import type { Subject } from '../api/types.js';
import type { GrantSource } from './rules.js';
import type { GrantScope } from './scope.js';

/** SubjectAccessReview's resourceAttributes, normalised (core group is ''). */
export interface ResourceAttributes {
  namespace?: string;
  verb: string;
  group: string;
  version?: string;
  resource: string;
  subresource?: string;
  name?: string;
}

/** SubjectAccessReview's nonResourceAttributes. */
export interface NonResourceAttributes {
  path: string;
  verb: string;
}

/** Who is asking, as the API server's authenticator reported them. */
export interface Requester {
  user: string;
  groups: readonly string[];
  uid?: string;
}

/** Exactly one of `resource` and `nonResource` is set. */
export interface AccessRequest extends Requester {
  resource?: ResourceAttributes;
  nonResource?: NonResourceAttributes;
  /**
   * The Gatehouse token the request was authenticated with (TokenReview puts its id in the user's
   * extra). The API server caches successful authentications for 10 s on its own; checking the id
   * again at authorization (uncached) ends a revoked token at once. decide() does not read it.
   */
  credentialId?: string;
}

/** The SubjectAccessReview answer has three values (docs/design.md, "Three answers"). */
export type Verdict = 'allow' | 'deny' | 'noOpinion';

/** Which step of the decision order (docs/design.md) produced the answer; stable, for metrics and tests. */
export type DecisionCode =
  | 'ignored' // 1. system: identities, service accounts, configured ignore lists
  | 'notSynced' // 2. the index has not synced yet
  | 'unknownUser' // 3. no User object
  | 'registration' // 3. an unknown user may create their own User (approval/open)
  | 'credentialEnded' // 0. a Gatehouse token that was revoked or rotated since it was authenticated
  | 'inactive' // 4. Pending, Rejected or Suspended
  | 'superuser' // 5.
  | 'binding' // 6. a live RoleBinding
  | 'projectOwner' // 7. namespace owner label
  | 'publicProject' // 7. namespace visibility=public
  | 'default' // 8. the configured default role in the default team's scope
  | 'self' // `me`: a user reading or editing their own User
  | 'delegated' // writes to Gatehouse's kinds allowed for a holder in some scope; admission checks the scope
  | 'accessRequest' // AccessRequests: any Active user; admission checks who asks and who decides
  | 'noMatch'; // 9.

/** The rule that made an allow: the role, and how the user came to hold it where. */
export interface Grant {
  role: string;
  source: GrantSource;
  /** The permission text of the role that matched, when known (e.g. `pods:read`, `me`). */
  permission?: string;
  binding?: string;
  /** The binding's subject that matched the requester. */
  subject?: Subject;
  scope: GrantScope;
}

export interface Decision {
  verdict: Verdict;
  code: DecisionCode;
  /** A sentence a person can read, e.g. "role researcher via binding vision-researchers (Team vision) in namespace vision-dev". */
  reason: string;
  grant?: Grant;
}
