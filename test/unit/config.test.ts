import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

test('an empty configuration gets every default and is frozen', () => {
  const cfg = parseConfig({});
  assert.equal(cfg.registration.mode, 'approval');
  assert.equal(cfg.authorization.denyInactiveUsers, true);
  assert.deepEqual(cfg.seedAdmins, []);
  assert.equal(cfg.server.maxBodyBytes, 3 * 1024 * 1024);
  assert.equal(cfg.operator.leaderElection.leaseDurationSeconds, 15);
  assert.ok(Object.isFrozen(cfg.server));
  assert.throws(() => {
    (cfg.registration as { mode: string }).mode = 'open';
  }, TypeError);
});

test('docs/design.md example values parse', () => {
  const cfg = parseConfig({
    seedAdmins: [{ username: 'root', email: 'root@example.com' }],
    defaults: { role: 'viewer', team: 'everyone' },
    projects: { ownerRole: 'project-owner', publicRole: 'viewer' },
    registration: { mode: 'approval', auto: false },
    authorization: { denyInactiveUsers: true, ignoreGroups: [], ignoreUsers: [] },
    presets: { zenml: false, runai: true, adaptive: false },
  });
  assert.equal(cfg.seedAdmins[0]?.username, 'root');
  assert.equal(cfg.presets.runai, true);
});

test('bad values are refused with the path and what is wrong', () => {
  assert.throws(() => parseConfig({ registration: { mode: 'sometimes' } }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'GH_CONFIG_INVALID');
    assert.match(err.message, /\/registration\/mode must be equal to one of the allowed values/);
    return true;
  });
  assert.throws(() => parseConfig({ seedAdmins: [{ email: 'x@example.com' }] }), /must have required property 'username'/);
  assert.throws(() => parseConfig({ surprise: true }), /must NOT have additional properties/);
});

test('loadConfig reads the file named by --config, then flags and the pod environment override', () => {
  const files: Record<string, string> = { '/cfg.yaml': 'registration: {mode: open}\nserver: {port: 9443}\n' };
  const cfg = loadConfig({
    argv: ['--config', '/cfg.yaml', '--port', '10443'],
    env: { POD_NAME: 'gatehouse-0', POD_NAMESPACE: 'iam' },
    readFile: (f) => {
      const text = files[f];
      if (text === undefined) throw new Error('ENOENT');
      return text;
    },
  });
  assert.equal(cfg.registration.mode, 'open');
  assert.equal(cfg.server.port, 10443);
  assert.equal(cfg.operator.identity, 'gatehouse-0');
  assert.equal(cfg.operator.namespace, 'iam');
});

test('loadConfig says which file it could not read and refuses unknown flags', () => {
  assert.throws(() => loadConfig({ argv: ['--config', '/missing.yaml'], env: {}, readFile: () => { throw new Error('ENOENT'); } }), /cannot read configuration file \/missing\.yaml/);
  assert.throws(() => loadConfig({ argv: ['--bogus'], env: {} }), /command line: Unknown option '--bogus'/);
  assert.throws(() => loadConfig({ argv: ['--port', 'abc'], env: {} }), /--port must be a whole number/);
});

test('authorization.mode: webhook by default; rbac and both accepted; anything else refused', () => {
  assert.equal(parseConfig({}).authorization.mode, 'webhook');
  assert.equal(parseConfig({ authorization: { mode: 'rbac' } }).authorization.mode, 'rbac');
  assert.equal(parseConfig({ authorization: { mode: 'both' } }).authorization.rbac.maxSubjectsPerObject, 2000);
  assert.throws(() => parseConfig({ authorization: { mode: 'native' } }), /\/authorization\/mode must be equal to one of the allowed values/);
  assert.throws(() => parseConfig({ authorization: { rbac: { maxSubjectsPerObject: 5000 } } }), /maxSubjectsPerObject must be <= 3000/);
});

test('seed admins: a username that is not canonical, or an email or displayName that is not, is a configuration error', () => {
  for (const seed of [{ username: 'root ' }, { username: 'system:admin' }, { username: 'root', email: 'r\u001b@x.io' }, { username: 'root', displayName: 'a\nb' }]) {
    assert.throws(() => parseConfig({ seedAdmins: [seed] }), (err: unknown) => err instanceof ConfigError && /seedAdmins\[0\]/.test(err.message), JSON.stringify(seed));
  }
  assert.equal(parseConfig({ seedAdmins: [{ username: 'root@example.com', email: 'root@example.com' }] }).seedAdmins.length, 1);
});
