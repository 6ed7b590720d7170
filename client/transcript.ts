/**
 * One record per attempt: what was sent after how long a wait, what came back, and what the
 * client decided. Written as one JSON line to the transcript sink and passed to `onAttempt`.
 */
export interface AttemptRecord {
  /** When the attempt ended (ISO 8601). */
  ts: string;
  /** The Idempotency-Key (the same on every attempt of one logical charge). */
  key: string;
  /** 1 for the first try. */
  attempt: number;
  /** Milliseconds waited before this attempt (0 for the first). */
  delayMs: number;
  /** How long the attempt took, in milliseconds. */
  durationMs: number;
  /** The HTTP status, when the attempt got an answer. */
  status?: number;
  /** `Idempotent-Replayed: true` was on the answer. */
  replayed?: boolean;
  /** The raw Retry-After header on the answer, if any. */
  retryAfter?: string;
  /** Retry-After as milliseconds (the floor of the next delay), if it could be read. */
  retryAfterMs?: number;
  /** Why the attempt got no answer. */
  error?: string;
  /** `timeout`: the per-attempt timeout cut it off; `network`: refused, reset or closed. */
  errorKind?: 'network' | 'timeout';
  /** What the client did next: return the answer, retry, or throw. */
  decision: 'return' | 'retry' | 'throw';
  /** Why: `success`, `not retryable`, `retryable`, `attempts exhausted`, `retry budget exhausted`, `deadline`. */
  reason: string;
  /** With `retry`: the delay chosen before the next attempt (retryAfterMs + jitterMs). */
  nextDelayMs?: number;
  /** With `retry`: the random part of nextDelayMs, on top of Retry-After when there is one. */
  jitterMs?: number;
  /** Retry-budget tokens left after the decision, when a budget is used. */
  budgetTokens?: number;
}

/**
 * Where transcript lines go: a function gets each line without its newline; anything with
 * `write` (process.stderr, a file stream) gets the line plus `\n`.
 */
export type TranscriptSink = ((line: string) => void) | { write(chunk: string): unknown };

/** Writes `record` to `sink` as one JSON line. */
export function writeTranscriptLine(sink: TranscriptSink, record: AttemptRecord): void {
  const line = JSON.stringify(record);
  if (typeof sink === 'function') sink(line);
  else sink.write(`${line}\n`);
}
