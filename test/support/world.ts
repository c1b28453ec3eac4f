// One way for the end-to-end tests (and bench/proxy.ts) to say what their world holds and to
// start a stack with it: a few lines per test instead of pages of YAML, each object written once,
// applied as the admin. Scopes are written the way a person writes them to the CLI (`cluster`,
// `team:vision`, `namespace:a,b`; src/client/assignments.ts parseScopes), subjects as
// `User:alice`, `Team:vision` or `Group:oidc:ml`.
//
//   const WORLD = world()
//     .namespace('vision-dev')
//     .role('pod-user', ['pods:*'])
//     .role('team-admin', { permissions: ['pods:*'], canAssign: ['pod-user'] })
//     .team('vision', { members: [], namespaces: ['vision-dev'] })
//     .binding('vision-pod-users', 'pod-user', 'Team:vision', 'team:vision');
//   stack = await startWithWorld(WORLD, { config: { ... } });
import { API_VERSION, type RoleSpec, type SubjectKind, type TeamSpec, type UserSpec } from '../../src/api/types.js';
import { parseScopes } from '../../src/client/assignments.js';
import { startStack, type Stack, type StackOptions } from './stack.js';
import { apply, assertOk } from './e2e.js';

type Doc = Record<string, unknown>;
const RBAC = 'rbac.authorization.k8s.io';

/** `User:alice`, `Team:vision`, `Group:oidc:ml` (the kind up to the first colon). */
function subject(text: string): { kind: SubjectKind; name: string } {
  const i = text.indexOf(':');
  const kind = text.slice(0, i);
  if (kind !== 'User' && kind !== 'Team' && kind !== 'Group') throw new Error(`world: subject ${JSON.stringify(text)} is not User:, Team: or Group:NAME`);
  return { kind, name: text.slice(i + 1) };
}

export class World {
  private readonly docs: Doc[] = [];

  /** Any object as it is (a Secret, a ServiceAccount, native RBAC...). */
  object(doc: Doc): this {
    this.docs.push(doc);
    return this;
  }

  namespace(name: string, labels?: Record<string, string>): this {
    return this.object({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } });
  }

  /** A Gatehouse Role: its permissions, or its whole spec (description, includes, canAssign, rules). */
  role(name: string, spec: string[] | RoleSpec): this {
    return this.object({ apiVersion: API_VERSION, kind: 'Role', metadata: { name }, spec: Array.isArray(spec) ? { permissions: spec } : spec });
  }

  user(name: string, spec: UserSpec): this {
    return this.object({ apiVersion: API_VERSION, kind: 'User', metadata: { name }, spec });
  }

  users(users: Record<string, UserSpec>): this {
    for (const [name, spec] of Object.entries(users)) this.user(name, spec);
    return this;
  }

  team(name: string, spec: TeamSpec): this {
    return this.object({ apiVersion: API_VERSION, kind: 'Team', metadata: { name }, spec });
  }

  /**
   * A Gatehouse RoleBinding of `role` for `subjects` in `scope` (`cluster`, `team:a,b`,
   * `namespace:a,b`; write the singular: parseScopes reads `teams:x` as team `s:x`).
   */
  binding(name: string, role: string, subjects: string | string[], scope: string, expiresAt?: string): this {
    if (/^(teams|namespaces):/.test(scope)) throw new Error(`world: write scope ${JSON.stringify(scope)} in the singular (team:a,b / namespace:a,b)`);
    const spec = { role, subjects: (Array.isArray(subjects) ? subjects : [subjects]).map(subject), scope: parseScopes([scope]), ...(expiresAt ? { expiresAt } : {}) };
    return this.object({ apiVersion: API_VERSION, kind: 'RoleBinding', metadata: { name }, spec });
  }

  /**
   * Native RBAC letting the group `gatehouse:team:TEAM` list Secrets in `namespace` (Role
   * secret-reader, RoleBinding vision-group-secrets style): it works only if a user's teams
   * arrive as groups.
   */
  teamGroupMayListSecrets(team: string, namespace: string, bindingName: string): this {
    this.object({ apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: 'secret-reader', namespace }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] });
    return this.object({
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: { name: bindingName, namespace },
      roleRef: { apiGroup: RBAC, kind: 'Role', name: 'secret-reader' },
      subjects: [{ apiGroup: RBAC, kind: 'Group', name: `gatehouse:team:${team}` }],
    });
  }

  /** The manifest for `kubectl apply -f -` (one JSON document per object). */
  yaml(): string {
    return manifest(this.docs);
  }
}

/** Objects as one manifest for `kubectl apply -f -`: one JSON document each. */
export function manifest(docs: readonly object[]): string {
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

export function world(): World {
  return new World();
}

/** A stack (test/support/stack.ts) with `w` applied as the admin, and the index settled on it. */
export async function startWithWorld(w: World, opts: StackOptions = {}): Promise<Stack> {
  const stack = await startStack(opts);
  try {
    assertOk(await apply(stack, w.yaml()), 'applying the world as the admin');
    await stack.settle();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
