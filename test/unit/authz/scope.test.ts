import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileScope, scopeParts, scopeText, type ScopeStyle } from '../../../src/authz/scope.js';

const STYLES: ScopeStyle[] = ['label', 'noun', 'where', 'flag'];
const all = (s: Parameters<typeof scopeText>[0]) => STYLES.map((style) => scopeText(s, style));

describe('scope vocabulary', () => {
  it('renders a binding scope the same from the API form and the compiled form', () => {
    for (const s of [{ cluster: true }, { teams: ['vision', 'nlp'] }, { namespaces: ['a'] }, {}]) {
      assert.deepEqual(all(compileScope(s)), all(s));
    }
    assert.deepEqual(all({ cluster: true }), ['cluster', 'the whole cluster', 'cluster-wide', 'cluster']);
    assert.deepEqual(all({ teams: ['vision', 'nlp'] }), ['teams: vision,nlp', 'teams vision, nlp', "in teams vision, nlp' scopes", 'team:vision,nlp']);
    assert.deepEqual(all({ namespaces: ['a'] }), ['namespaces: a', 'namespace a', 'in namespace a', 'namespace:a']);
    assert.deepEqual(all({}), ['<none>', 'an empty scope', 'nowhere', 'namespace:']);
  });
  it('renders one place a grant holds', () => {
    assert.equal(scopeText({ kind: 'namespace', namespace: 'vision-dev', via: { team: 'vision' } }, 'where'), 'in namespace vision-dev (scope team vision)');
    assert.equal(scopeText({ kind: 'team', team: 'vision' }, 'where'), "in team vision's scope");
    assert.equal(scopeText({ kind: 'team', team: 'vision' }, 'noun'), 'team vision');
    assert.equal(scopeText({ kind: 'cluster' }, 'where'), 'cluster-wide');
  });
  it('splits a scope into its parts', () => {
    assert.deepEqual(scopeParts({ teams: ['a', 'b'] }), [{ kind: 'team', team: 'a' }, { kind: 'team', team: 'b' }]);
    assert.deepEqual(scopeParts(compileScope({ namespaces: ['x'] })), [{ kind: 'namespace', namespace: 'x' }]);
    assert.deepEqual(scopeParts({ cluster: true }), [{ kind: 'cluster' }]);
  });
});

describe('scope vocabulary: an API scope with a stray kind key', () => {
  it('reads as what its own fields say', () => {
    const stray = { kind: 'namespaces', teams: ['x'] } as unknown as Parameters<typeof scopeParts>[0];
    assert.deepEqual(scopeParts(stray), [{ kind: 'team', team: 'x' }]);
    assert.equal(scopeText(stray), 'teams: x');
  });
});
