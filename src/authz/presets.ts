// The seeds' default roles as data (configuration `presets`). The operator keeps each enabled
// preset's roles as Role objects labelled iam.gatehouse.dev/preset=<preset>; nothing here runs at
// import time beyond building constant objects.
import type { Role, RoleSpec } from '../api/types.js';
import { API_VERSION, LABELS } from '../api/types.js';
import type { PolicyConfig } from '../config.js';
import { explicitOnlyPermissions, explicitVerbPermissions } from './permission.js';

export type PresetName = keyof PolicyConfig['presets'];
export const PRESET_NAMES: readonly PresetName[] = ['zenml', 'runai', 'adaptive'];

// ZenML (seeds/001): "admin: all permissions globally (read, write, me)", "guest: own user data and
// global read access (read, me)". ZenML's read/write apply to every resource.
// `*` does not reach Secrets, exec or the proxies (EXPLICIT_ONLY), so the admin roles, meant to
// hold everything, name them; the guest's `*:read` stays clear of them.
const zenml: Record<string, RoleSpec> = {
  'zenml-admin': {
    description: 'ZenML admin: read and write every resource, and edit own user (read, write, me)',
    permissions: ['*:read', '*:write', ...explicitOnlyPermissions('read'), ...explicitOnlyPermissions('write'), 'me'],
  },
  'zenml-guest': { description: 'ZenML guest: read every resource, and edit own user (read, me)', permissions: ['*:read', 'me'] },
};

// Run:ai (seeds/002), the "Roles and permissions" table taken literally: R = read (get, list,
// watch); CRUD = create, read, update, patch, delete; N/A = nothing. Entities are resources in any
// API group. The table's first row (assigning roles) becomes rolebindings permissions plus
// canAssign: the Admin may assign every role, the Department Admin only Researcher and ML Engineer.
// Its second row (assigning users to Projects/Departments) becomes the `members` subresource of
// projects and departments.
type Cell = 'CRUD' | 'R' | '-';
const RUNAI_ROLES = ['runai-admin', 'runai-department-admin', 'runai-editor', 'runai-research-manager', 'runai-researcher', 'runai-ml-engineer', 'runai-viewer'] as const;
/** Columns in RUNAI_ROLES order. */
const RUNAI_TABLE: readonly [resource: string, cells: readonly Cell[]][] = [
  ['departments', ['R', 'R', 'CRUD', '-', '-', 'R', 'R']],
  ['projects', ['R', 'CRUD', 'CRUD', 'R', 'R', 'R', 'R']],
  ['jobs', ['R', 'R', 'R', 'R', 'CRUD', '-', 'R']],
  ['deployments', ['R', 'R', 'R', '-', '-', 'CRUD', 'R']],
  ['workspaces', ['R', 'R', 'R', 'R', 'CRUD', '-', '-']],
  ['environments', ['CRUD', 'CRUD', 'CRUD', 'CRUD', 'CRUD', '-', '-']],
  ['datasources', ['CRUD', 'CRUD', 'CRUD', 'CRUD', 'CRUD', '-', '-']],
  ['computeresources', ['CRUD', 'CRUD', 'CRUD', 'CRUD', 'CRUD', '-', '-']],
  ['templates', ['CRUD', 'CRUD', 'CRUD', 'CRUD', 'CRUD', '-', '-']],
  ['clusters', ['CRUD', '-', 'R', '-', '-', 'R', 'R']],
  ['nodepools', ['CRUD', '-', 'R', '-', '-', 'R', 'R']],
  ['nodes', ['R', '-', 'R', '-', '-', 'R', 'R']],
  ['settings', ['CRUD', '-', '-', '-', '-', '-', '-']],
  ['eventhistories', ['R', '-', '-', '-', '-', '-', '-']],
  ['dashboards/overview', ['R', 'R', 'R', 'R', 'R', 'R', 'R']],
  ['dashboards/analytics', ['R', 'R', 'R', 'R', 'R', 'R', 'R']],
  ['dashboards/consumption', ['R', '-', '-', '-', '-', '-', '-']],
  // "Assign Users/Groups/Apps to Organizations": R (Projects, Departments) | CRUD (Projects only) | CRUD (Projects, Departments)
  ['projects/members', ['R', 'CRUD', 'CRUD', '-', '-', '-', '-']],
  ['departments/members', ['R', '-', 'CRUD', '-', '-', '-', '-']],
  // "Assign (Settings) Users/Groups/Apps to Roles": CRUD (all roles) | CRUD (Proj. Researchers and ML Engineers only)
  ['iam.gatehouse.dev/rolebindings', ['CRUD', 'CRUD', '-', '-', '-', '-', '-']],
];
const RUNAI_DESCRIPTIONS: Record<(typeof RUNAI_ROLES)[number], string> = {
  'runai-admin': 'Run:ai Administrator: manages users and installs clusters',
  'runai-department-admin': 'Run:ai Department Administrator: manages departments, their projects and workloads',
  'runai-editor': 'Run:ai Editor: manages departments and projects',
  'runai-research-manager': 'Run:ai Research Manager',
  'runai-researcher': 'Run:ai Researcher: submits jobs and workspaces',
  'runai-ml-engineer': 'Run:ai ML Engineer: manages deployments',
  'runai-viewer': 'Run:ai Viewer: reads everything but settings',
};
const CELL_ACTIONS: Record<Cell, string[]> = { CRUD: ['create', 'read', 'update', 'patch', 'delete'], R: ['read'], '-': [] };

function runaiRoles(): Record<string, RoleSpec> {
  const out: Record<string, RoleSpec> = {};
  RUNAI_ROLES.forEach((name, col) => {
    const permissions: string[] = [];
    for (const [resource, cells] of RUNAI_TABLE) for (const action of CELL_ACTIONS[cells[col]!]) permissions.push(`${resource}:${action}`);
    const spec: RoleSpec = { description: RUNAI_DESCRIPTIONS[name], permissions };
    if (name === 'runai-admin') spec.canAssign = [...RUNAI_ROLES];
    if (name === 'runai-department-admin') {
      spec.canAssign = ['runai-researcher', 'runai-ml-engineer'];
      // Run:ai's Department Administrator manages "departments, descendent projects and workloads":
      // bound in a department Team's scope, this creates and manages project Teams under it (their
      // spec.parent is the department or below) and binds the canAssign roles there (docs/quotas.md).
      permissions.push(...['create', 'read', 'update', 'patch', 'delete'].flatMap((verb) => [`iam.gatehouse.dev/teams:${verb}`, `iam.gatehouse.dev/rolebindings:${verb}`]), 'iam.gatehouse.dev/users:read');
    }
    out[name] = spec;
  });
  return out;
}

// Adaptive Engine (seeds/004). The seed defines only the Admin role's permissions ("granted all
// permissions"), and says admin and platform_admin are the roles allowed the global operations
// admin:manage_roles, admin:manage_teams and admin:manage_users (mapped to Gatehouse's roles, teams,
// users and rolebindings; Adaptive's "must be in the admin team" becomes binding in cluster scope
// versus a team scope). It names Power User, Read Only, Inference and Annotator without saying what
// they hold, so they are left open and not shipped: write them as Roles if you need them.
const adaptive: Record<string, RoleSpec> = {
  // `/*:*` too: "every permission" includes non-resource URLs (cluster-scoped bindings only).
  // `*:*` reaches neither EXPLICIT_ONLY's targets nor EXPLICIT_VERBS (impersonate, bind, escalate,
  // approving and signing certificates): "every permission" names them.
  'adaptive-admin': { description: 'Adaptive Engine Admin: every permission', permissions: ['*:*', ...explicitOnlyPermissions('*'), ...explicitVerbPermissions(), '/*:*'] },
  'adaptive-platform-admin': {
    description: 'Adaptive Engine Platform Admin: manage roles, teams and users (admin:manage_roles, admin:manage_teams, admin:manage_users)',
    permissions: ['iam.gatehouse.dev/roles:*', 'iam.gatehouse.dev/teams:*', 'iam.gatehouse.dev/users:*', 'iam.gatehouse.dev/rolebindings:*'],
  },
};

export const PRESETS: Readonly<Record<PresetName, Readonly<Record<string, RoleSpec>>>> = Object.freeze({
  zenml,
  runai: runaiRoles(),
  adaptive,
});

/** The Role objects of the enabled presets, labelled as presets, in a stable order. */
export function presetRoles(enabled: PolicyConfig['presets']): Role[] {
  const out: Role[] = [];
  for (const preset of PRESET_NAMES) {
    if (!enabled[preset]) continue;
    for (const [name, spec] of Object.entries(PRESETS[preset])) {
      out.push({
        apiVersion: API_VERSION,
        kind: 'Role',
        metadata: { name, labels: { [LABELS.preset]: preset } },
        spec: structuredClone(spec),
      });
    }
  }
  return out;
}
