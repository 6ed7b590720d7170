/** The dev key `npm start` accepts when LOCAL_API_KEYS is not set. */
export const DEFAULT_LOCAL_API_KEYS = 'local-dev-key:local-client';

/**
 * Parses LOCAL_API_KEYS: comma-separated `apiKey:clientId` pairs.
 * Throws a readable error for a malformed entry rather than starting with a key missing.
 */
export function parseApiKeys(spec: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const entry of spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const separator = entry.indexOf(':');
    const apiKey = entry.slice(0, separator);
    const clientId = entry.slice(separator + 1);
    if (separator <= 0 || clientId === '' || clientId.includes(':')) {
      throw new Error(`LOCAL_API_KEYS: "${entry}" is not an apiKey:clientId pair`);
    }
    if (keys.has(apiKey)) throw new Error(`LOCAL_API_KEYS: API key "${apiKey}" is listed twice`);
    keys.set(apiKey, clientId);
  }
  if (keys.size === 0) throw new Error('LOCAL_API_KEYS: no apiKey:clientId pairs given');
  return keys;
}
