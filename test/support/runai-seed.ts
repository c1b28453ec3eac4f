// The Run:ai seed's role table (shared/seeds/002_142bca3e10b5fa9b.txt), verbatim, and how its
// rows and columns map to Gatehouse's preset roles and resources. The core's unit test and the
// end-to-end test both check every cell against it.

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
