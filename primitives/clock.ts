/**
 * The clock the client and the functions both measure elapsed time with. Injected wherever
 * time matters, so tests (and server code) control it instead of sleeping.
 */

/** Milliseconds on a monotonic clock. */
export type Clock = () => number;

/** `performance.now()`: monotonic, so a wall-clock jump cannot mint or destroy tokens. */
export const monotonicClock: Clock = () => performance.now();
