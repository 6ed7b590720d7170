/**
 * Canonical JSON: the one definition of "the same body", used by the service's request
 * fingerprint (functions/domain/charge.ts), the contract oracle and the bench.
 */

/**
 * `JSON.stringify` with the keys of every object sorted (by UTF-16 code units, at every
 * level), so two bodies that differ only in key order or whitespace serialize identically.
 * Array order is kept: it is part of the value.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : inner,
  );
}
