/**
 * What a fault schedule is made of, and the fast-check arbitrary that generates schedules:
 * a few logical charges over a tiny pool of keys and two clients, with duplicates, races,
 * lost responses, one crash point and (with the hot tier) Redis key loss.
 */
import fc from 'fast-check';

export type CrashPoint = 'none' | 'charge' | 'relay' | 'consumer' | 'database';
/** The crash points that arm a process's failpoint. */
export type ProcessCrash = 'charge' | 'relay' | 'consumer';

export interface ScheduledOp {
  /** Index into the environment's clients (0 = A, 1 = B). */
  client: number;
  /** Keys come from a tiny pool per schedule, so reuse (same or other client) happens. */
  keySlot: number;
  amount: number;
  customer: string;
  /** Concurrent senders of the first submission (1 = no race). */
  race: number;
  /** Resubmissions after the success. */
  duplicates: number;
  /** The proxy throws the first answer away (the server committed it). */
  loseFirst: boolean;
  /** Afterwards, the same key with a changed body (expects 422). */
  mismatchAfter: boolean;
}

export interface Schedule {
  ops: ScheduledOp[];
  crash: CrashPoint;
  /** Redis loses every key after the first success (only with the Redis tier). */
  redisKeyLoss: boolean;
}

/**
 * What a schedule is drawn from; `redis` enables the Redis key-loss dimension, `database` the
 * PostgreSQL SIGKILL.
 */
export function scheduleArbitrary(options: {
  redis: boolean;
  database?: boolean;
}): fc.Arbitrary<Schedule> {
  const op: fc.Arbitrary<ScheduledOp> = fc.record({
    client: fc.nat({ max: 1 }),
    keySlot: fc.nat({ max: 2 }),
    amount: fc.integer({ min: 1, max: 100_000_000 }),
    customer: fc.constantFrom('cus_a', 'cus_b', 'cus_c', 'cus_d'),
    race: fc.oneof(
      { weight: 3, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) },
    ),
    duplicates: fc.nat({ max: 2 }),
    loseFirst: fc.boolean(),
    mismatchAfter: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
  });
  return fc.record({
    ops: fc.array(op, { minLength: 1, maxLength: 3 }),
    crash: fc.oneof(
      { weight: 14, arbitrary: fc.constant<CrashPoint>('none') },
      { weight: 2, arbitrary: fc.constant<CrashPoint>('charge') },
      { weight: 2, arbitrary: fc.constant<CrashPoint>('relay') },
      { weight: 2, arbitrary: fc.constant<CrashPoint>('consumer') },
      ...(options.database ? [{ weight: 2, arbitrary: fc.constant<CrashPoint>('database') }] : []),
    ),
    redisKeyLoss: options.redis ? fc.boolean() : fc.constant(false),
  });
}
