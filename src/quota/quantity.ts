// Kubernetes quantities ("8", "500m", "10Gi", "1.5", "2e3") as exact integers of milli-units
// (bigint), so budgets add and compare without floating point. A fraction finer than a milli-unit
// rounds up, as the API server does when it canonicalises a quantity for comparison.
import { GatehouseError } from '../errors.js';

export class QuantityError extends GatehouseError {
  constructor(message: string) {
    super('GH_QUANTITY_INVALID', message);
  }
}

const BINARY: Readonly<Record<string, bigint>> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE])|[eE]([+-]?\d{1,3}))?$/;

/** The quantity in milli-units; throws QuantityError on anything Kubernetes would not parse. */
export function parseQuantity(value: string | number): bigint {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (text.length === 0 || text.length > 64) throw new QuantityError(`${JSON.stringify(value)} is not a quantity`);
  const m = PATTERN.exec(text);
  if (!m) throw new QuantityError(`${JSON.stringify(value)} is not a quantity (examples: 8, 500m, 16Gi)`);
  const [, sign, number, binary, decimal, exponent] = m;
  const [whole = '', frac = ''] = number!.split('.');
  // digits as an integer scaled by 10^-frac.length
  let digits = BigInt((whole || '0') + frac);
  let scale10 = -frac.length + 3; // milli
  let factor = 1n;
  if (binary) factor = BINARY[binary]!;
  else if (decimal !== undefined) scale10 += DECIMAL[decimal]!;
  else if (exponent !== undefined) scale10 += Number(exponent);
  digits *= factor;
  let out: bigint;
  if (scale10 >= 0) out = digits * 10n ** BigInt(scale10);
  else {
    const div = 10n ** BigInt(-scale10);
    out = (digits + div - 1n) / div; // round up
  }
  if (sign === '-') throw new QuantityError(`${JSON.stringify(value)} is negative`);
  return out;
}

/** Milli-units back to a quantity the API server reads: whole units when exact, else `<n>m`. */
export function formatQuantity(milli: bigint): string {
  return milli % 1000n === 0n ? String(milli / 1000n) : `${milli}m`;
}

/** A resource list's quantities in milli-units; the first bad one throws. */
export function parseList(list: Readonly<Record<string, string | number>> | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [k, v] of Object.entries(list ?? {})) out.set(k, parseQuantity(v));
  return out;
}

export function formatList(list: ReadonlyMap<string, bigint>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...list.keys()].sort()) out[k] = formatQuantity(list.get(k)!);
  return out;
}
