/**
 * Reads configuration from the environment once, at cold start.
 * Resource names have no defaults: a missing one is a deployment bug and fails loudly,
 * instead of silently pointing at the wrong table or queue. Tunables may have defaults.
 */

/** The value of a variable that must be set; throws naming the variable when it is not. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`environment variable ${name} is required but not set`);
  }
  return value;
}

/** A positive number from the environment, or `fallback` when the variable is unset. */
export function numberEnv(name: string, fallback: number): number;
export function numberEnv(name: string, fallback?: undefined): number | undefined;
export function numberEnv(name: string, fallback?: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`environment variable ${name} must be a positive number, got "${raw}"`);
  }
  return value;
}
