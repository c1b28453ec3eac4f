// The reference evaluator (test/support/oracle.ts) must not share code with what it checks: a bug
// in src/authz's grammar or explicit-only table would then be on both sides of the property tests
// and of the peer benchmark. It may import types only. Checked on the source (every import from
// src/authz is `import type`) and on the compiled file (no import of src/authz survives).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importsOf } from '../../support/source-imports.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/unit/authz -> the repository root.
const root = resolve(here, '../../../..');

const fromSrcAuthz = (spec: string): boolean => /(^|\/)src\/authz(\/|$)/.test(spec);

describe('the reference evaluator imports nothing from src/authz but types', () => {
  it('source: every import from src/authz is `import type`', () => {
    const src = readFileSync(resolve(root, 'test/support/oracle.ts'), 'utf8');
    const imports = importsOf(src);
    assert.ok(imports.length > 0, 'no imports found: the parser is broken');
    const values = imports.filter((i) => fromSrcAuthz(i.from) && !i.typeOnly).map((i) => i.text);
    assert.deepEqual(values, []);
    // Nothing from src/ at all except types (config and API types are types too).
    assert.deepEqual(imports.filter((i) => i.from.includes('/src/') && !i.typeOnly).map((i) => i.text), []);
  });
  it('compiled: dist/test/support/oracle.js imports nothing from src/', () => {
    const js = readFileSync(resolve(root, 'dist/test/support/oracle.js'), 'utf8');
    assert.deepEqual(importsOf(js).filter((i) => i.from.includes('/src/')).map((i) => i.text), []);
  });
  it('the check catches a value import (and lets a type import through)', () => {
    const bad = importsOf("import { parsePermission } from '../../src/authz/permission.js';\nimport type { X } from '../../src/authz/types.js';\nimport { type Y } from '../../src/authz/types.js';");
    assert.deepEqual(bad.map((i) => i.typeOnly), [false, true, true]);
  });
});
