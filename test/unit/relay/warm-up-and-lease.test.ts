import { describe, expect, it } from 'vitest';
import { RelayLease } from '../../../functions/relay/relay-lease.ts';
import { WarmUp } from '../../../functions/relay/warm-up.ts';

describe('WarmUp', () => {
  it('allows half the rate at first, the full rate after the warm-up, and half again after restart', () => {
    let now = 0;
    const warmUp = new WarmUp(1_000, 2, () => now);
    // 0.1 s in: the integral of a ramp from 500/s is ~51, plus one batch of slack.
    now = 100;
    expect(warmUp.msUntilAllowed(60)).toBe(0);
    expect(warmUp.msUntilAllowed(100)).toBeGreaterThan(0);
    warmUp.grant(60);
    // Well past the ramp: the full rate, 1000/s.
    now = 10_000;
    warmUp.grant(8_900);
    expect(warmUp.msUntilAllowed(500)).toBe(0);
    warmUp.restart();
    expect(warmUp.msUntilAllowed(10)).toBe(0);
    expect(warmUp.msUntilAllowed(100)).toBeGreaterThan(150);
  });
});

describe('RelayLease', () => {
  function lease(answers: (string | undefined | Error)[]) {
    let now = 0;
    const calls: number[] = [];
    const released: string[] = [];
    const relayLease = new RelayLease(
      {
        tryAcquire: async () => {
          calls.push(now);
          const answer = answers.length > 1 ? answers.shift() : answers[0];
          if (answer instanceof Error) throw answer;
          return answer;
        },
        release: async (token) => void released.push(token),
      },
      { ttlMs: 5_000, renewEveryMs: 1_000, safetyMs: 1_500, now: () => now },
    );
    const advance = (ms: number) => {
      now += ms;
    };
    return { relayLease, calls, released, advance };
  }

  it('renews at most once per renewal interval, however often it is asked', async () => {
    const { relayLease, calls, advance } = lease(['3']);
    expect(await relayLease.ensureHeld()).toBe(true);
    await Promise.all([relayLease.ensureHeld(), relayLease.ensureHeld()]);
    advance(999);
    await relayLease.ensureHeld();
    expect(calls).toEqual([0]);
    advance(1);
    await Promise.all([relayLease.ensureHeld(), relayLease.ensureHeld()]);
    expect(calls).toEqual([0, 1_000]);
    expect(relayLease.token).toBe('3');
  });

  it('stops trusting the lease ttl − safety after the last renewal was sent, if it cannot renew', async () => {
    const { relayLease, advance } = lease(['4', new Error('database down')]);
    await relayLease.ensureHeld();
    advance(3_000);
    expect(await relayLease.ensureHeld()).toBe(true);
    advance(499);
    expect(relayLease.holds()).toBe(true);
    advance(1);
    expect(relayLease.holds()).toBe(false);
    expect(relayLease.token).toBeUndefined();
  });

  it('is not held when another relay has it, and gives back only a lease it holds', async () => {
    const held = lease([undefined]);
    expect(await held.relayLease.ensureHeld()).toBe(false);
    await held.relayLease.release();
    expect(held.released).toEqual([]);
    const mine = lease(['9']);
    await mine.relayLease.ensureHeld();
    await mine.relayLease.release();
    expect(mine.released).toEqual(['9']);
    expect(mine.relayLease.holds()).toBe(false);
  });
});
