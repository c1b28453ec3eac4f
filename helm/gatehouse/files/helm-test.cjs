// helm test: dry-run a Namespace and a Role through the API server; each must reach Gatehouse's
// admission webhooks (allowed, or denied by them), never "failed calling webhook".
const https = require('https');
const fs = require('fs');
// The pod's service account; the override lets the repository's tests run this file off-cluster.
const sa = (process.env.GATEHOUSE_TEST_SA_DIR || '/var/run/secrets/kubernetes.io/serviceaccount') + '/';
const token = fs.readFileSync(sa + 'token', 'utf8').trim();
const ca = fs.readFileSync(sa + 'ca.crt');
const host = process.env.KUBERNETES_SERVICE_HOST;
const port = process.env.KUBERNETES_SERVICE_PORT;
function post(path, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port, path, method: 'POST', ca, timeout: 30000,
      headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
const checks = [
  ['Namespace', '/api/v1/namespaces?dryRun=All', { apiVersion: 'v1', kind: 'Namespace', metadata: { generateName: 'gatehouse-helm-test-' } }],
  ['Role', '/apis/iam.gatehouse.dev/v1alpha1/roles?dryRun=All', { apiVersion: 'iam.gatehouse.dev/v1alpha1', kind: 'Role', metadata: { generateName: 'gatehouse-helm-test-' }, spec: { description: 'helm test (dry run)', permissions: ['pods:read'] } }],
];
(async () => {
  let failed = 0;
  for (const [kind, path, body] of checks) {
    let outcome;
    try {
      const res = await post(path, body);
      let message = '';
      try { message = JSON.parse(res.body).message || ''; } catch (e) { message = res.body; }
      if (res.status >= 200 && res.status < 300) outcome = 'ok: allowed by the webhooks (dry run)';
      else if (/admission webhook "[^"]*iam\.gatehouse\.dev" denied the request/.test(message)) outcome = 'ok: the webhook answered (denied): ' + message;
      else outcome = 'FAIL: ' + res.status + ' ' + message;
    } catch (err) {
      outcome = 'FAIL: ' + err.message;
    }
    if (outcome.startsWith('FAIL')) failed++;
    console.log(kind + ': ' + outcome);
  }
  process.exit(failed ? 1 : 0);
})();
