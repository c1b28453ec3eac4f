// Gatehouse itself as the third system: the permission index and decide(), with the policy
// configuration's defaults (no default role, no project roles), so on a plain-RBAC world only
// bindings can allow.
import { PermissionIndex } from '../../src/authz/index.js';
import { decide } from '../../src/authz/decide.js';
import type { AccessRequest } from '../../src/authz/types.js';
import { parseConfig } from '../../src/config.js';
import type { PeerWorld } from './subset.js';

export interface GatehousePeer {
  readonly index: PermissionIndex;
  allows(req: AccessRequest): boolean;
}

/** A fixed clock: the benchmark worlds have no expiry, and decide() should not read the wall clock. */
const FIXED_NOW = Date.UTC(2026, 0, 1);

export function buildGatehouse(world: PeerWorld): GatehousePeer {
  const index = PermissionIndex.build(world, parseConfig({}), () => FIXED_NOW);
  return {
    index,
    allows: (req) => decide(index, req).verdict === 'allow',
  };
}
