// resourceVersion comparison. resourceVersions are opaque strings in the API
// contract, but every real API server (etcd revisions) and the lab server use
// decimal integers; those are compared numerically (as BigInt, so values
// beyond 2^53 stay exact). Anything else compares as "not comparable".

const DECIMAL = /^[0-9]+$/;

/** <0, 0, >0 like a comparator; undefined when either side is not a decimal integer. */
export function compareResourceVersions(a: string, b: string): number | undefined {
  if (!DECIMAL.test(a) || !DECIMAL.test(b)) return undefined;
  if (a.length < 16 && b.length < 16) return Number(a) - Number(b);
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The newer of two versions; an incomparable or empty `current` is replaced by `next`. */
export function newerResourceVersion(current: string, next: string): string {
  if (next === '') return current;
  if (current === '') return next;
  const c = compareResourceVersions(current, next);
  if (c === undefined) return next;
  return c >= 0 ? current : next;
}

/** Minimum over versions; '' if any is '' (not yet known). */
export function minResourceVersion(versions: readonly string[]): string {
  if (versions.length === 0) return '';
  let min = versions[0];
  for (const v of versions) {
    if (v === '') return '';
    const c = compareResourceVersions(v, min);
    if (c !== undefined && c < 0) min = v;
  }
  return min;
}
