// The Argo CD health check published in docs/helm.md, run with a local Lua interpreter against
// status shapes the operator writes. Skipped where no `lua` binary is installed (Argo CD itself
// embeds gopher-lua, Lua 5.1; the script uses nothing newer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../support/helm.js';

const lua = ['lua5.1', 'lua5.4', 'lua', 'luajit'].find((bin) => spawnSync(bin, ['-v']).status === 0);

function healthScript(): string {
  const doc = readFileSync(path.join(repoRoot(), 'docs', 'helm.md'), 'utf8');
  const m = /dev_User: &gatehouse-health \|\n([\s\S]*?)\n {2}resource\.customizations\.health\.iam\.gatehouse\.dev_Role/.exec(doc);
  assert.ok(m?.[1], 'health check not found in docs/helm.md');
  return m[1].split('\n').map((l) => l.slice(4)).join('\n');
}

const cases: Array<{ why: string; obj: string; status: string; message?: RegExp }> = [
  { why: 'no status yet', obj: '{metadata={generation=1}}', status: 'Progressing' },
  { why: 'status from an older generation', obj: '{metadata={generation=2},status={observedGeneration=1,conditions={{type="Ready",status="True"}}}}', status: 'Progressing' },
  { why: 'Ready and current', obj: '{metadata={generation=2},status={observedGeneration=2,conditions={{type="Ready",status="True",message="in effect"}}}}', status: 'Healthy' },
  {
    why: 'not Ready: the reason and message reach Argo CD',
    obj: '{metadata={generation=2},status={observedGeneration=2,conditions={{type="Ready",status="False",reason="RoleNotFound",message="role x does not exist"}}}}',
    status: 'Degraded',
    message: /^RoleNotFound: role x does not exist$/,
  },
  { why: 'Ready condition computed for an older generation', obj: '{metadata={generation=3},status={observedGeneration=3,conditions={{type="Ready",status="True",observedGeneration=2}}}}', status: 'Progressing' },
  // A User's state is its own condition: as kept in Git, never Degraded.
  {
    why: 'a Pending User awaits approval',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="True",reason="Reconciled"},{type="Active",status="False",reason="PendingApproval",message="Waiting for approval"}}}}',
    status: 'Suspended',
    message: /^Awaiting approval: Waiting for approval$/,
  },
  {
    why: 'a Suspended User is as intended',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="True",reason="Reconciled"},{type="Active",status="False",reason="Suspended",message="denied all access"}}}}',
    status: 'Healthy',
    message: /^Suspended as intended: denied all access$/,
  },
  {
    why: 'a Rejected User is as intended',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="True",reason="Reconciled"},{type="Active",status="False",reason="Rejected",message="rejected"}}}}',
    status: 'Healthy',
  },
  {
    why: 'an Active User is healthy',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="True",message="In effect"},{type="Active",status="True",reason="Active"}}}}',
    status: 'Healthy',
  },
  // Issue 30: an object meant for other clusters is as Git says on this one.
  {
    why: 'a RoleBinding meant for another cluster is healthy',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="True",reason="NotInForceHere",message="As written"},{type="InEffect",status="False",reason="OtherCluster",message="Not in force on cluster gpu-us-1"}}}}',
    status: 'Healthy',
    message: /^Not in force on this cluster as intended: Not in force on cluster gpu-us-1$/,
  },
  {
    why: 'a Pending User meant for another cluster is not awaiting approval here',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="True",reason="Reconciled"},{type="Active",status="False",reason="PendingApproval",message="Waiting"},{type="InEffect",status="False",reason="ClusterUnnamed",message="this cluster has no name"}}}}',
    status: 'Healthy',
    message: /^Not in force on this cluster as intended: this cluster has no name$/,
  },
  {
    why: 'an Active User in force here is healthy',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="True",message="In effect"},{type="Active",status="True",reason="Active"},{type="InEffect",status="True",reason="SelectedCluster"}}}}',
    status: 'Healthy',
    message: /^In effect$/,
  },
  {
    why: 'a duplicate username is a fault',
    obj: '{metadata={generation=1},status={observedGeneration=1,conditions={{type="Ready",status="False",reason="DuplicateUsername",message="x"},{type="Active",status="True",reason="Active"}}}}',
    status: 'Degraded',
  },
];

test('the Argo CD health check maps Ready + observedGeneration to Argo CD health', { skip: lua ? false : 'no lua interpreter installed' }, () => {
  const script = healthScript();
  for (const c of cases) {
    const prog = `obj = ${c.obj}\nlocal function check()\n${script}\nend\nlocal hs = check()\nio.write(hs.status, "\\n", hs.message or "")\n`;
    const res = spawnSync(lua as string, ['-'], { input: prog, encoding: 'utf8' });
    assert.equal(res.status, 0, `${c.why}: ${res.stderr}`);
    const [status, message] = res.stdout.split('\n');
    assert.equal(status, c.status, c.why);
    if (c.message) assert.match(message ?? '', c.message, c.why);
  }
});
