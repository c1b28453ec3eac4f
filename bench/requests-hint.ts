// Issue 23's figures for bench:index: decide() p99 on allowed requests before and after some roles
// become requestable (the same run, the same index), and p99 on refusals that now carry the
// `kubectl gatehouse request ...` hint. The hint is computed on the refusal path only, so the
// allowed figure should not move beyond the machine's noise.
import type { PermissionIndex } from '../src/authz/index.js';
import type { Role } from '../src/api/types.js';
import type { AccessRequest } from '../src/authz/types.js';
import { decide } from '../src/authz/decide.js';
import { decideTimesUs, pctOf } from './stats.js';

function p99(index: PermissionIndex, reqs: readonly AccessRequest[], rounds = 3): number {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) out.push(pctOf(decideTimesUs(index, reqs), 99));
  out.sort((a, b) => a - b);
  return +out[Math.floor(out.length / 2)]!.toFixed(2);
}

export interface HintFigures {
  requestableRoles: number;
  allowedBeforeP99Us: number;
  allowedAfterP99Us: number;
  refusedBeforeP99Us: number;
  refusedWithHintP99Us: number;
  allowedCalls: number;
  refusedWithHintCalls: number;
}

/** Makes `share` of the roles requestable (changes the index: run it last). */
export function measureRequestHints(index: PermissionIndex, roles: readonly Role[], requests: readonly AccessRequest[], share = 0.1): HintFigures {
  const allowed = requests.filter((r) => decide(index, r).verdict === 'allow');
  const refused = requests.filter((r) => decide(index, r).verdict !== 'allow');
  const allowedBefore = p99(index, allowed);
  const refusedBefore = p99(index, refused);
  const chosen = roles.filter((_, i) => i % Math.round(1 / share) === 0);
  for (const r of chosen) {
    index.apply({ op: 'upsert', kind: 'Role', object: { ...r, spec: { ...r.spec, requestable: { maxDuration: '4h' } } } });
  }
  // A role change empties the index's per-shape role bitsets: refill them (and build the hint's
  // table) with one untimed pass over every request, as the 'before' figures had.
  for (const r of requests) decide(index, r);
  const hinted = refused.filter((r) => decide(index, r).reason.includes('to ask for access'));
  const allowedAfter = p99(index, allowed);
  const refusedWithHint = p99(index, hinted);
  return {
    requestableRoles: chosen.length,
    allowedBeforeP99Us: allowedBefore,
    allowedAfterP99Us: allowedAfter,
    refusedBeforeP99Us: refusedBefore,
    refusedWithHintP99Us: refusedWithHint,
    allowedCalls: allowed.length,
    refusedWithHintCalls: hinted.length,
  };
}
