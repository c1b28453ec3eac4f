// The operator's own certificates (certificates.mode operator): the DER writer's output is a
// certificate Node and openssl accept, and the rotation plan never serves a certificate that the
// bundle published before it does not already trust.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueCa, issueServing, issuerIn, splitBundle, fingerprint } from '../../../src/certs/x509.js';
import { planStep, trustBundle, stateFromData, dataFromState, type CertSettings, type CertState } from '../../../src/certs/plan.js';
import { reportKey } from '../../../src/certs/keeper.js';
import { parseConfig } from '../../../src/config.js';

const S = 1000;
const DAY = 86_400 * S;

test('a CA and a serving certificate: read back by X509Certificate and verified by openssl', () => {
  const now = Date.now();
  const ca = issueCa({ commonName: 'test-ca', notBefore: now - S, notAfter: now + 365 * DAY });
  const leaf = issueServing(ca, { commonName: 'gh', dnsNames: ['gh.ns.svc', 'localhost'], ipAddresses: ['127.0.0.1', '::1'], notBefore: now - S, notAfter: now + DAY });
  const caCert = new X509Certificate(ca.cert);
  const cert = new X509Certificate(leaf.cert);
  assert.equal(caCert.ca, true);
  assert.equal(cert.ca, false);
  assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey));
  assert.equal(cert.checkHost('gh.ns.svc'), 'gh.ns.svc');
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(cert.checkIP('::1'), '::1');
  assert.equal(cert.checkHost('other.example.com'), undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gh-x509-'));
  writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
  writeFileSync(path.join(dir, 'leaf.pem'), leaf.cert);
  const out = execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'leaf.pem')], { encoding: 'utf8' });
  assert.match(out, /leaf\.pem: OK/);
  // A serving certificate never outlives its CA.
  const long = issueServing(ca, { commonName: 'gh', dnsNames: ['a'], ipAddresses: [], notBefore: now, notAfter: now + 1000 * DAY });
  assert.equal(new X509Certificate(long.cert).validTo, caCert.validTo);
  const other = issueCa({ commonName: 'other', notBefore: now, notAfter: now + DAY });
  assert.equal(issuerIn(cert, splitBundle(other.cert + ca.cert))?.fingerprint256, caCert.fingerprint256);
  assert.equal(issuerIn(cert, splitBundle(other.cert)), undefined, 'a CA with another key is not the issuer');
});

const settings: CertSettings = {
  commonName: 'gh', dnsNames: ['gh.ns.svc'], ipAddresses: ['127.0.0.1'],
  caValidityMs: 100 * S, caRotateBeforeMs: 40 * S, caOverlapMs: 10 * S,
  certValidityMs: 20 * S, certRenewBeforeMs: 8 * S, apiServerClient: true,
};

function servedIssuer(state: CertState): string {
  const issuer = issuerIn(new X509Certificate(state.serving!.cert), splitBundle(trustBundle(state)));
  assert.ok(issuer, 'the serving certificate chains to its own bundle');
  return fingerprint(issuer);
}

test('the rotation plan: create, renew, publish a new CA, sign with it after the overlap, drop the old one when every replica moved', () => {
  let t = Date.parse('2026-01-01T00:00:00Z');
  let state: CertState = {};
  const seen: string[] = [];
  let published = '';
  // Drive the plan second by second for three CA lifetimes; replicas report what they serve.
  for (let i = 0; i < 300; i++, t += S) {
    const reports = state.serving ? [servedIssuer(state)] : [];
    const step = planStep(state, t, settings, reports);
    if (step.state) {
      const next = step.state;
      // The invariant: what is served after a step is trusted by the bundle published before it
      // (the API server learnt that bundle already); only a fresh Secret has no "before".
      if (step.kind !== 'create' && next.serving !== state.serving) {
        assert.ok(issuerIn(new X509Certificate(next.serving!.cert), splitBundle(published)), `${step.kind} at +${i}s serves a certificate the published bundle does not trust`);
      }
      // The client pair is always from a CA in the bundle.
      assert.ok(issuerIn(new X509Certificate(next.client!.cert), splitBundle(trustBundle(next))));
      // Round trip through the Secret's layout.
      const { data, annotations } = dataFromState(next);
      const back = stateFromData(data, Object.fromEntries(Object.entries(annotations).filter((e): e is [string, string] => e[1] !== null)));
      assert.equal(trustBundle(back), trustBundle(next));
      state = back;
      seen.push(step.kind);
    } else {
      assert.equal(step.kind, 'none');
    }
    published = trustBundle(state);
    // Never expired: the serving certificate is valid at every second.
    assert.ok(Date.parse(new X509Certificate(state.serving!.cert).validTo) > t, `serving certificate expired at +${i}s`);
    assert.ok(splitBundle(published).length <= 2);
  }
  for (const k of ['create', 'renew', 'startRotation', 'promote', 'dropPrevious']) assert.ok(seen.includes(k), `${k} never happened: ${seen.join(',')}`);
  // startRotation → promote → dropPrevious, in that order, each rotation.
  const rotation = seen.filter((k) => k === 'startRotation' || k === 'promote' || k === 'dropPrevious');
  for (let i = 0; i + 2 < rotation.length; i += 3) assert.deepEqual(rotation.slice(i, i + 3), ['startRotation', 'promote', 'dropPrevious']);
});

test('the old CA stays in the bundle while any live replica still serves from it', () => {
  const t = Date.parse('2026-01-01T00:00:00Z');
  const created = planStep({}, t, settings, []).state!;
  const oldFp = fingerprint(created.ca!.cert);
  const started = planStep(created, t + 61 * S, settings, [oldFp]).state!; // 39 s left < 40 s
  assert.equal(splitBundle(trustBundle(started)).length, 2);
  const promoted = planStep(started, t + 72 * S, settings, [oldFp]);
  assert.equal(promoted.kind, 'promote');
  const newFp = fingerprint(promoted.state!.ca!.cert);
  // One replica still on the old CA: no drop.
  assert.notEqual(planStep(promoted.state!, t + 73 * S, settings, [newFp, oldFp]).kind, 'dropPrevious');
  // No report at all (nobody alive to say): no drop either.
  assert.notEqual(planStep(promoted.state!, t + 73 * S, settings, []).kind, 'dropPrevious');
  const dropped = planStep(promoted.state!, t + 73 * S, settings, [newFp, newFp]);
  assert.equal(dropped.kind, 'dropPrevious');
  assert.equal(splitBundle(trustBundle(dropped.state!)).length, 1);
});

test('new certificate names give a new serving certificate from the same CA; a damaged Secret entry is re-issued', () => {
  const t = Date.now();
  const s0 = planStep({}, t, settings, []).state!;
  const step = planStep(s0, t + S, { ...settings, dnsNames: ['gh.ns.svc', 'gatehouse.example.com'] }, []);
  assert.equal(step.kind, 'renew');
  assert.equal(step.state!.ca, s0.ca);
  assert.equal(new X509Certificate(step.state!.serving!.cert).checkHost('gatehouse.example.com'), 'gatehouse.example.com');
  const { data } = dataFromState(s0);
  const damaged = stateFromData({ ...data, 'tls.crt': 'not a certificate' });
  assert.equal(damaged.serving, undefined);
  assert.equal(planStep(damaged, t + S, settings, []).kind, 'renew');
});

test('a lowered lifetime takes effect now: a longer-lived serving certificate is renewed, a longer-lived CA starts a rotation', () => {
  const t = Date.parse('2026-01-01T00:00:00Z');
  const long: CertSettings = { ...settings, caValidityMs: 1825 * DAY, caRotateBeforeMs: 365 * DAY, caOverlapMs: 60 * DAY, certValidityMs: 90 * DAY, certRenewBeforeMs: 30 * DAY };
  const s0 = planStep({}, t, long, []).state!;
  assert.equal(planStep(s0, t + S, long, []).kind, 'none', 'unchanged settings: nothing to do');
  // Only the serving certificate's lifetime lowered: renewed from the same CA, valid for the new lifetime.
  const renewed = planStep(s0, t + S, { ...long, certValidityMs: 60 * S, certRenewBeforeMs: 30 * S }, []);
  assert.equal(renewed.kind, 'renew');
  assert.match(renewed.reason, /outlives/);
  assert.equal(renewed.state!.ca, s0.ca);
  assert.ok(Date.parse(new X509Certificate(renewed.state!.serving!.cert).validTo) <= t + S + 60 * S);
  assert.equal(planStep(renewed.state!, t + 2 * S, { ...long, certValidityMs: 60 * S, certRenewBeforeMs: 30 * S }, []).kind, 'none', 'and only once');
  // The CA's lifetime lowered too: a rotation starts (published first, never signing at once).
  const rotating = planStep(renewed.state!, t + 3 * S, { ...long, caValidityMs: 3600 * S, caRotateBeforeMs: 600 * S, caOverlapMs: 90 * S, certValidityMs: 60 * S, certRenewBeforeMs: 30 * S }, []);
  assert.equal(rotating.kind, 'startRotation');
  assert.match(rotating.reason, /outlives/);
  assert.equal(rotating.state!.ca, s0.ca, 'the old CA still signs');
  assert.equal(splitBundle(trustBundle(rotating.state!)).length, 2);
});

test('a Secret without the API server client pair (left by a mode rbac install) gets it in the same write as its renewal', () => {
  const t = Date.now();
  const noClient = planStep({}, t, { ...settings, apiServerClient: false }, []).state!;
  assert.equal(noClient.client, undefined);
  const step = planStep(noClient, t + S, { ...settings, dnsNames: ['gh.ns.svc', 'gh.ns'] }, []);
  assert.equal(step.kind, 'renew');
  assert.ok(step.state!.client, 'the client pair comes with the renewal');
  assert.ok(issuerIn(new X509Certificate(step.state!.client!.cert), splitBundle(noClient.ca!.cert)));
  assert.equal(planStep(step.state!, t + 2 * S, { ...settings, dnsNames: ['gh.ns.svc', 'gh.ns'] }, []).kind, 'none');
});

test('report keys are valid annotation names for any identity', () => {
  assert.equal(reportKey('gh-gatehouse-7d9f-abcde'), 'serving.iam.gatehouse.dev/gh-gatehouse-7d9f-abcde');
  assert.match(reportKey('x'.repeat(100)), /^serving\.iam\.gatehouse\.dev\/id-[0-9a-f]{32}$/);
  assert.match(reportKey('a/b'), /id-/);
});

test('configuration: the rotation periods must nest', () => {
  assert.throws(() => parseConfig({ certificates: { certValiditySeconds: 10, certRenewBeforeSeconds: 10 } }), /certRenewBeforeSeconds/);
  assert.throws(() => parseConfig({ certificates: { caOverlapSeconds: 400 * 86400 } }), /caOverlapSeconds/);
  assert.throws(() => parseConfig({ certificates: { mode: 'operator' } }), /dnsNames/);
  assert.throws(() => parseConfig({ certificates: { mdoe: 'operator' } }), /must NOT have additional properties/);
  assert.equal(parseConfig({}).certificates.mode, 'files');
});
