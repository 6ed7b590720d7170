/**
 * Failpoints let tests crash a process at an exact line, to prove recovery from real crashes
 * rather than from errors a handler could catch. Armed with the environment variable
 * FAILPOINTS="name=action,..." where action is:
 * - `crash`: SIGKILL this process (no finally blocks, no onError, nothing flushed);
 * - `error`: throw, as a bug or a lost connection would.
 * Unset in production; an unknown name or action is rejected at start-up.
 */
export const FAILPOINT_NAMES = [
  'charge.after-commit',
  'relay.after-publish',
  'consumer.after-apply',
] as const;
/** One of {@link FAILPOINT_NAMES}. */
export type FailpointName = (typeof FAILPOINT_NAMES)[number];
type FailpointAction = 'crash' | 'error';

/** What an `error` failpoint throws. */
export class FailpointError extends Error {
  constructor(name: FailpointName) {
    super(`failpoint ${name} triggered`);
    this.name = 'FailpointError';
  }
}

/** Parses a FAILPOINTS specification; exported for tests. */
export function parseFailpoints(spec: string | undefined): Map<FailpointName, FailpointAction> {
  const armed = new Map<FailpointName, FailpointAction>();
  for (const entry of (spec ?? '').split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const [name, action = 'crash'] = entry.split('=');
    if (!FAILPOINT_NAMES.includes(name as FailpointName)) {
      throw new Error(
        `FAILPOINTS: unknown failpoint "${name}" (known: ${FAILPOINT_NAMES.join(', ')})`,
      );
    }
    if (action !== 'crash' && action !== 'error') {
      throw new Error(`FAILPOINTS: unknown action "${action}" for ${name} (use crash or error)`);
    }
    armed.set(name as FailpointName, action);
  }
  return armed;
}

const armed = parseFailpoints(process.env.FAILPOINTS);

/** Crashes or throws here when failpoint `name` is armed; does nothing otherwise. */
export function failpoint(name: FailpointName): void {
  const action = armed.get(name);
  if (action === 'crash') process.kill(process.pid, 'SIGKILL');
  if (action === 'error') throw new FailpointError(name);
}
