// Maps (and id-indexed arrays) of sets, the shape every index lookup has: adding creates the set,
// removing the last value drops it, so an emptied key leaves nothing behind.

export function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Set()));
  s.add(value);
}

export function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const s = map.get(key);
  if (!s) return;
  s.delete(value);
  if (s.size === 0) map.delete(key);
}

export function addAt<V>(arr: (Set<V> | undefined)[], i: number, value: V): void {
  let s = arr[i];
  if (!s) arr[i] = s = new Set();
  s.add(value);
}

export function removeAt<V>(arr: (Set<V> | undefined)[], i: number, value: V): void {
  const s = arr[i];
  if (!s) return;
  s.delete(value);
  if (s.size === 0) arr[i] = undefined;
}

export const EMPTY: ReadonlySet<never> = new Set();
