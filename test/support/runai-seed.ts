// The Run:ai seed's role table (shared/seeds/002_142bca3e10b5fa9b.txt), verbatim, and how its
// rows and columns map to Gatehouse's preset roles and resources. The core's unit test and the
// end-to-end test both check every cell against it.

import assert from 'node:assert/strict';

export const RUNAI_SEED = `Managed Entity / Roles Admin Dep. Admin Editor Research Manager Researcher ML Eng. Viewer
Assign (Settings) Users/Groups/Apps to Roles CRUD (all roles) CRUD (Proj. Researchers and ML Engineers only) N/A N/A N/A N/A N/A
Assign Users/Groups/Apps to Organizations R (Projects, Departments) CRUD (Projects only) CRUD (Projects, Departments) N/A N/A N/A N/A
Departments R R CRUD N/A N/A R R
Projects R CRUD CRUD R R R R
Jobs R R R R CRUD N/A R
Deployments R R R N/A N/A CRUD R
Workspaces R R R R CRUD N/A N/A
Environments CRUD CRUD CRUD CRUD CRUD N/A N/A
Data Sources CRUD CRUD CRUD CRUD CRUD N/A N/A
Compute Resources CRUD CRUD CRUD CRUD CRUD N/A N/A
Templates CRUD CRUD CRUD CRUD CRUD N/A N/A
Clusters CRUD N/A R N/A N/A R R
Node Pools CRUD N/A R N/A N/A R R
Nodes R N/A R N/A N/A R R
Settings (General, Credentials) CRUD N/A N/A N/A N/A N/A N/A
Events History R N/A N/A N/A N/A N/A N/A
Dashboard.Overview R R R R R R R
Dashboards.Analytics R R R R R R R
Dashboards.Consumption R N/A N/A N/A N/A N/A N/A`;

/** The table's columns, left to right, as preset Role names. */
export const RUNAI_ROLES = ['runai-admin', 'runai-department-admin', 'runai-editor', 'runai-research-manager', 'runai-researcher', 'runai-ml-engineer', 'runai-viewer'];

/** The entity rows, as resources (issue 3 names them). */
export const ENTITY_RESOURCES: Record<string, string> = {
  Departments: 'departments',
  Projects: 'projects',
  Jobs: 'jobs',
  Deployments: 'deployments',
  Workspaces: 'workspaces',
  Environments: 'environments',
  'Data Sources': 'datasources',
  'Compute Resources': 'computeresources',
  Templates: 'templates',
  Clusters: 'clusters',
  'Node Pools': 'nodepools',
  Nodes: 'nodes',
  'Settings (General, Credentials)': 'settings',
  'Events History': 'eventhistories',
  'Dashboard.Overview': 'dashboards/overview',
  'Dashboards.Analytics': 'dashboards/analytics',
  'Dashboards.Consumption': 'dashboards/consumption',
};

/** The verbs checked per cell, and which cells allow them. */
export const RUNAI_VERBS = ['get', 'create', 'update', 'delete'];
export const CELL_VERBS: Record<string, string[]> = { R: ['get'], CRUD: RUNAI_VERBS, 'N/A': [] };

export interface RunaiCell {
  row: string;
  role: string;
  cell: string;
  /** kubectl's RESOURCE.GROUP */
  resource: string;
  subresource?: string;
  /** How Gatehouse's reason names it. */
  target: string;
  clusterScoped: boolean;
}

/** The table's cells: the entity rows, then the two assignment rows. */
export function runaiCells(): RunaiCell[] {
  const lines = RUNAI_SEED.split('\n');
  const out: RunaiCell[] = [];
  for (const line of lines.slice(3)) {
    const entity = Object.keys(ENTITY_RESOURCES).find((e) => line.startsWith(`${e} `));
    assert.ok(entity, `an entity row: ${line}`);
    const values = line.slice(entity.length + 1).split(' ');
    assert.equal(values.length, RUNAI_ROLES.length, `seven columns in ${line}`);
    const [resource, subresource] = ENTITY_RESOURCES[entity]!.split('/') as [string, string | undefined];
    values.forEach((cell, col) => out.push({
      row: entity, role: RUNAI_ROLES[col]!, cell, resource: `${resource}.run.ai`,
      ...(subresource ? { subresource } : {}),
      target: `run.ai/${resource}${subresource ? `/${subresource}` : ''}`, clusterScoped: false,
    }));
  }
  // "Assign Users/Groups/Apps to Organizations": R (Projects, Departments) | CRUD (Projects only) |
  // CRUD (Projects, Departments) | N/A...: the members subresource of projects and departments.
  const orgs: Record<string, string[]> = {
    projects: ['R', 'CRUD', 'CRUD', 'N/A', 'N/A', 'N/A', 'N/A'],
    departments: ['R', 'N/A', 'CRUD', 'N/A', 'N/A', 'N/A', 'N/A'],
  };
  assert.match(lines[2]!, /^Assign Users\/Groups\/Apps to Organizations R \(Projects, Departments\) CRUD \(Projects only\) CRUD \(Projects, Departments\)( N\/A){4}$/);
  for (const [resource, row] of Object.entries(orgs)) {
    row.forEach((cell, col) => out.push({
      row: `Assign to Organizations (${resource})`, role: RUNAI_ROLES[col]!, cell, resource: `${resource}.run.ai`, subresource: 'members',
      target: `run.ai/${resource}/members`, clusterScoped: false,
    }));
  }
  // "Assign (Settings) Users/Groups/Apps to Roles": CRUD for Admin and Dep. Admin (which roles they
  // may assign is admission's canAssign check), N/A for the rest: Gatehouse's RoleBindings.
  assert.match(lines[1]!, /^Assign \(Settings\) Users\/Groups\/Apps to Roles CRUD \(all roles\) CRUD \(Proj\. Researchers and ML Engineers only\)( N\/A){5}$/);
  RUNAI_ROLES.forEach((role, col) => out.push({
    row: 'Assign to Roles', role, cell: col <= 1 ? 'CRUD' : 'N/A', resource: 'rolebindings.iam.gatehouse.dev',
    target: 'iam.gatehouse.dev/rolebindings', clusterScoped: true,
  }));
  return out;
}

/** A namespaced CRD `<plural>.<group>` (run.ai by default), standing in for Run:ai's or another platform's API. */
export function runaiCrd(plural: string, group = 'run.ai'): string {
  const kind = plural.replace(/ies$/, 'y').replace(/s$/, '').replace(/^./, (c) => c.toUpperCase());
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${plural}.${group}}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: ${plural}, singular: ${kind.toLowerCase()}, kind: ${kind}, listKind: ${kind}List}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}`;
}

