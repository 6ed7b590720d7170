import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EXPERIMENT,
  type ExperimentOptions,
  runFailoverExperiment,
} from '../../scripts/experiment/experiment.ts';

/** One failover, few clients: the shape of `npm run experiment:failover`, small. */
const SMALL: ExperimentOptions = {
  ...DEFAULT_EXPERIMENT,
  seeds: [7],
  failovers: 1,
  clients: 6,
  killWindowMs: [400, 800],
};

describe('the failover experiment', () => {
  it('counts no double and no lost charge when B confirms every commit (synchronous) and the tail is discarded', async () => {
    const { totals, runs } = await runFailoverExperiment({ ...SMALL, modes: ['sync'] });
    const sync = totals[0];
    expect(sync?.mode).toBe('sync');
    // The run was what it claims: synchronous replication, traffic, a failover with retries in B.
    expect(runs[0]?.syncStates).toEqual(['sync']);
    expect(sync?.operations).toBeGreaterThan(0);
    expect(sync?.answeredByB).toBeGreaterThan(0);
    expect(sync?.unanswered).toBe(0);
    expect(sync?.discardTail).toEqual({ doubles: 0, lost: 0 });
    // Synchronous commits are acknowledged only once B has them: nothing told to a client is in A's tail.
    expect(sync?.unreplicatedAcknowledged).toBe(0);
  });

  it('detects doubles when keys committed in A are missing in B and their retries land there', async () => {
    const { totals } = await runFailoverExperiment({
      ...SMALL,
      modes: ['sync'],
      injectDoubles: 2,
    });
    // Each injected key has a charge on A's disk and its client's retry made another in B.
    expect(totals[0]?.discardTail.doubles).toBe(2);
    expect(totals[0]?.recoverTail.doubles).toBeGreaterThanOrEqual(2);
  });
});
