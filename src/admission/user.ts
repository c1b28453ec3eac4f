// User: semantic checks, superuser-only, approve-only, self-registration, `me`, no lockout, seed
// admins protected, delegated administration (cluster-wide unless self-service).
import { LABELS, USER_STATES, type User } from '../api/types.js';
import { CLUSTER, changedKeys, gatehousePermission, holdsClusterWide, LAST_APPLIED_ANNOTATION, metadataChanges, privileged, readSpec, requireDelegated, type Env, type Findings, validName } from './common.js';
import { usernameOf } from '../authz/rules.js';
import { emailProblem, MAX_DISPLAY_NAME_LENGTH, textProblem, usernameProblem, userObjectName } from '../api/username.js';
import type { AdmissionContext, PolicyView } from './types.js';
import { checkClusters } from './clusters.js';
import { selectsCluster } from '../fleet/cluster.js';
import { clusterOf } from '../fleet/identity.js';

const USER_FIELDS = { username: 'string', email: 'string', displayName: 'string', state: 'string', superuser: 'boolean', clusters: 'object' } as const;
const SELF_EDITABLE = new Set(['displayName', 'email']);

function readUser(f: Findings, obj: unknown, which: 'object' | 'oldObject'): User | undefined {
  const read = readSpec(f, obj, which, true, USER_FIELDS);
  if (!read) return undefined;
  return { metadata: read.metadata, spec: read.spec as unknown as User['spec'] };
}


export function isSeedAdmin(ctx: AdmissionContext, user: User): boolean {
  if (user.metadata.labels?.[LABELS.seed] === 'true') return true;
  const username = usernameOf(user);
  return ctx.config.seedAdmins.some((s) => s.username === username);
}

export function isActiveSuperuser(user: User): boolean {
  return user.spec.state === 'Active' && user.spec.superuser === true;
}

/** An Active superuser who may act on this cluster (issue 30: spec.clusters selects it); the no-lockout rule counts these. */
function isActiveSuperuserHere(ctx: AdmissionContext, user: User): boolean {
  return isActiveSuperuser(user) && selectsCluster(user.spec.clusters, clusterOf(ctx.config));
}

function otherActiveSuperusers(view: PolicyView, user: User): number {
  const username = usernameOf(user);
  return view.activeSuperusers().filter((u) => u !== username).length;
}

function checkSemantics(env: Env, user: User): void {
  const { f } = env;
  validName(f, 'metadata.name', user.metadata.name);
  // One spelling per identity (src/api/username.ts): the API server trims header values and
  // owns `system:`, so "grace " or " system:x" must never be stored, compared or sent.
  if (user.spec.username !== undefined) {
    const problem = user.spec.username === '' ? 'must not be empty (leave it out to use metadata.name)' : usernameProblem(user.spec.username);
    if (problem) f.deny('spec.username', 'username-form', `${JSON.stringify(user.spec.username)} ${problem}`);
  }
  if (!USER_STATES.includes(user.spec.state)) {
    f.deny('spec.state', 'invalid-field', `must be one of ${USER_STATES.join(', ')}, got ${JSON.stringify(user.spec.state)}`);
  }
  // Administrators read these in `user list`, `user show` and the console: no forged lines.
  const emailBad = user.spec.email === undefined ? undefined : emailProblem(user.spec.email);
  if (emailBad) f.deny('spec.email', 'invalid-field', `${JSON.stringify(user.spec.email)} ${emailBad}`);
  const displayBad = user.spec.displayName === undefined ? undefined : textProblem(user.spec.displayName, MAX_DISPLAY_NAME_LENGTH);
  if (displayBad) f.deny('spec.displayName', 'invalid-field', displayBad);
  checkClusters(f, user.spec.clusters);
  const username = usernameOf(user);
  const other = env.view.userByUsername(username);
  if (other && other.metadata.name !== user.metadata.name) {
    f.deny(
      user.spec.username ? 'spec.username' : 'metadata.name',
      'username-unique',
      `username ${JSON.stringify(username)} already belongs to User ${other.metadata.name}; one identity has one User`,
    );
  }
  // Subjects, members and owner labels name a User by object name or username, resolved one way
  // (the object name first): a username that is another User's name would take what names that
  // User, and a new name equal to another User's username would take theirs.
  const named = env.view.user(username);
  if (named && named.metadata.name !== user.metadata.name) {
    f.deny('spec.username', 'username-unique',
      `username ${JSON.stringify(username)} is the name of User ${named.metadata.name}; a username may not be another User's name`);
  }
  const byName = username === user.metadata.name ? undefined : env.view.userByUsername(user.metadata.name);
  if (byName && byName.metadata.name !== user.metadata.name) {
    f.deny('metadata.name', 'username-unique',
      `name ${JSON.stringify(user.metadata.name)} is the username of User ${byName.metadata.name}; a User's name may not be another User's username`);
  }
}

const SEED_HINT = 'seed admins come from the operator configuration (Helm values seedAdmins); change them there';

export function validateUser(env: Env): void {
  const { input, f, ctx, view, who } = env;
  const newUser = input.operation === 'DELETE' ? undefined : readUser(f, input.object, 'object');
  const oldUser = input.operation === 'CREATE' ? undefined : readUser(f, input.oldObject, 'oldObject');
  if (!f.ok) return;

  if (input.operation === 'CREATE' && newUser) {
    // An identity without a User learns nothing about other Users from a dry run (issue 32,
    // finding 10): the uniqueness checks below would say which names and usernames are taken.
    if (input.dryRun && who.user === undefined && !privileged(env)) {
      f.deny('metadata.name', 'registration', 'a self-registration cannot be a dry run (its answer would tell which names are taken); register for real and an administrator approves it');
      return;
    }
    metadataChanges(env, undefined, newUser.metadata);
    checkSemantics(env, newUser);
    if (isSeedAdmin(ctx, newUser)) {
      f.deny(newUser.metadata.labels?.[LABELS.seed] === 'true' ? `metadata.labels[${LABELS.seed}]` : 'spec.username', 'seed-protected',
        `User ${usernameOf(newUser)} is a seed admin and only the operator creates it; ${SEED_HINT}`);
      return;
    }
    if (privileged(env)) return;
    const self = usernameOf(newUser) === who.requester.user;
    if (self && who.user === undefined) {
      registration(env, newUser);
      return;
    }
    requireDelegated(env, 'users', 'create', CLUSTER, 'metadata.name', `creating User ${newUser.metadata.name}`);
    if (newUser.spec.superuser === true) {
      f.deny('spec.superuser', 'superuser-only', 'only superusers may set superuser');
    }
    if (newUser.spec.state !== 'Pending' && !holdsClusterWide(env, gatehousePermission('users', 'approve'))) {
      f.deny('spec.state', 'approve-only',
        `creating a User in state ${newUser.spec.state} approves it, which needs a superuser or ${gatehousePermission('users', 'approve')} cluster-wide; create it Pending`);
    }
    return;
  }

  if (input.operation === 'UPDATE' && newUser && oldUser) {
    const specChanges = changedKeys(oldUser.spec as unknown as Record<string, unknown>, newUser.spec as unknown as Record<string, unknown>);
    const meta = metadataChanges(env, oldUser.metadata, newUser.metadata);
    const labelsChanged = meta.some((p) => p.startsWith('metadata.labels'));
    if (specChanges.length === 0 && meta.length === 0) return;
    checkSemantics(env, newUser);
    // Annotations and finalizers do not change who a seed admin is; they pass to the rules below.
    if ((specChanges.length > 0 || labelsChanged) && (isSeedAdmin(ctx, oldUser) || isSeedAdmin(ctx, newUser))) {
      f.deny(specChanges[0] ? `spec.${specChanges[0]}` : 'metadata.labels', 'seed-protected',
        `User ${usernameOf(oldUser)} is a seed admin and cannot be changed through the API; ${SEED_HINT}`);
      return;
    }
    if (isActiveSuperuserHere(ctx, oldUser) && !isActiveSuperuserHere(ctx, newUser) && otherActiveSuperusers(view, oldUser) === 0) {
      const path = newUser.spec.superuser !== true ? 'spec.superuser' : !isActiveSuperuser(newUser) ? 'spec.state' : 'spec.clusters';
      f.deny(path, 'last-superuser',
        `User ${oldUser.metadata.name} is the last Active superuser; make another user an Active superuser first`);
    }
    // A username change moves everything the User holds (superuser, bindings, teams, owned
    // namespaces) from one identity to another: for the no-lockout rule the old identity is gone.
    const usernameChanged = usernameOf(oldUser) !== usernameOf(newUser);
    if (usernameChanged && isActiveSuperuserHere(ctx, oldUser) && otherActiveSuperusers(view, oldUser) === 0) {
      f.deny('spec.username', 'last-superuser',
        `User ${oldUser.metadata.name} is the last Active superuser; changing its username would leave identity ${JSON.stringify(usernameOf(oldUser))} locked out; make another user an Active superuser first`);
    }
    if (privileged(env)) return;

    const own = usernameOf(oldUser) === who.requester.user && usernameOf(newUser) === who.requester.user;
    const selfMeta = meta.every((p) => p === `metadata.annotations[${LAST_APPLIED_ANNOTATION}]`);
    if (own && selfMeta && specChanges.every((k) => SELF_EDITABLE.has(k))) {
      if (view.holdsMe(who.requester)) return;
      if (holdsClusterWide(env, gatehousePermission('users', 'update'))) return;
      f.deny(`spec.${specChanges[0] ?? 'displayName'}`, 'self-service',
        'editing your own displayName and email needs the permission "me" (ask for a role that has it)');
      return;
    }
    const needsUpdate: string[] = [];
    for (const key of specChanges) {
      if (key === 'username' && usernameChanged) {
        // Handing a User to another identity grants that identity all the User holds; only a
        // superuser holds all of anything. The change also ends the user's tokens (credentials
        // are bound to the username they were issued for).
        f.deny('spec.username', 'username-change',
          `changing the username of User ${oldUser.metadata.name} hands everything it holds to another identity; only superusers may change a username`);
      } else if (key === 'superuser') {
        f.deny('spec.superuser', 'superuser-only', 'only superusers may set or change superuser');
      } else if (key === 'state') {
        if (!holdsClusterWide(env, gatehousePermission('users', 'approve'))) {
          f.deny('spec.state', 'approve-only',
            `changing state (approve, reject, suspend) needs a superuser or ${gatehousePermission('users', 'approve')} cluster-wide`);
        }
      } else if (key === 'clusters') {
        // Limiting a user to other clusters suspends them here, and widening the list activates
        // them elsewhere: the same right as changing state (issue 30).
        if (!holdsClusterWide(env, gatehousePermission('users', 'approve'))) {
          f.deny('spec.clusters', 'approve-only',
            `changing which clusters a user may act on suspends or activates them there, which needs a superuser or ${gatehousePermission('users', 'approve')} cluster-wide`);
        }
      } else {
        needsUpdate.push(`spec.${key}`);
      }
    }
    // Labels and annotations are writes like spec changes; kubectl apply's own record of what was
    // applied goes with the spec change it records.
    const lastApplied = `metadata.annotations[${LAST_APPLIED_ANNOTATION}]`;
    needsUpdate.push(...meta.filter((p) => p !== lastApplied || specChanges.length === 0));
    const first = needsUpdate[0];
    if (first !== undefined) {
      const what = own ? `changing ${needsUpdate.join(', ')} of your own User (self-service covers displayName and email only)` : `changing ${needsUpdate.join(', ')} of User ${oldUser.metadata.name}`;
      requireDelegated(env, 'users', 'update', CLUSTER, first, what);
    }
    return;
  }

  if (input.operation === 'DELETE' && oldUser) {
    if (isSeedAdmin(ctx, oldUser)) {
      f.deny('metadata.name', 'seed-protected', `User ${usernameOf(oldUser)} is a seed admin and cannot be deleted through the API; ${SEED_HINT}`);
      return;
    }
    if (isActiveSuperuserHere(ctx, oldUser) && otherActiveSuperusers(view, oldUser) === 0) {
      f.deny('metadata.name', 'last-superuser',
        `User ${oldUser.metadata.name} is the last Active superuser and cannot be deleted; make another user an Active superuser first`);
      return;
    }
    if (privileged(env)) return;
    requireDelegated(env, 'users', 'delete', CLUSTER, 'metadata.name', `deleting User ${oldUser.metadata.name}`);
  }
}

/** An unknown identity creating its own User (docs/design.md, "Delegated administration"). */
function registration(env: Env, user: User): void {
  const { f, ctx } = env;
  const mode = ctx.config.registration.mode;
  if (mode === 'closed') {
    f.deny('metadata.name', 'registration', 'self-registration is closed; ask an administrator to create your User');
    return;
  }
  if (user.spec.superuser === true) {
    f.deny('spec.superuser', 'superuser-only', 'only superusers may set superuser; register with superuser false');
  }
  // The name is derived from the identity, never chosen: bindings, teams and owner labels may
  // already name a User that does not exist yet, and a registrant must not take what they name.
  const expected = userObjectName(usernameOf(user));
  if (user.metadata.name !== expected) {
    f.deny('metadata.name', 'registration',
      `a self-registered User is named after its username: use metadata.name ${JSON.stringify(expected)} (got ${JSON.stringify(user.metadata.name)})`);
  }
  const allowed = mode === 'open' ? ['Pending', 'Active'] : ['Pending'];
  if (!allowed.includes(user.spec.state)) {
    f.deny('spec.state', 'registration',
      `a self-registered User must be ${allowed.join(' or ')} (registration ${mode}); an administrator approves it`);
  }
}
