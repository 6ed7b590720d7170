import { describe, expect, it } from 'vitest';
import { classifyFailover, type FailoverFacts } from '../../scripts/experiment/classify.ts';

function facts(overrides: Partial<FailoverFacts>): FailoverFacts {
  return {
    acknowledged: new Map(),
    oldPrimary: new Map(),
    promoted: new Map(),
    publishedByOldPrimary: new Set(),
    ...overrides,
  };
}

describe('classifying what a failover did to each logical charge', () => {
  it('counts nothing when every commit reached the replica', () => {
    const result = classifyFailover(
      facts({
        acknowledged: new Map([['k1', ['x1']]]),
        oldPrimary: new Map([['k1', 'x1']]),
        promoted: new Map([['k1', ['x1']]]),
      }),
    );
    expect(result).toMatchObject({
      tail: 0,
      discardTail: { doubles: 0, lost: 0 },
      recoverTail: { doubles: 0, lost: 0 },
    });
  });

  it('an unacknowledged commit in the tail whose retry made a charge in B is a double only if the tail is recovered', () => {
    const result = classifyFailover(
      facts({
        acknowledged: new Map([['k1', ['y1']]]),
        oldPrimary: new Map([['k1', 'x1']]),
        promoted: new Map([['k1', ['y1']]]),
      }),
    );
    expect(result).toMatchObject({
      tail: 1,
      tailAcknowledged: 0,
      discardTail: { doubles: 0, lost: 0 },
      recoverTail: { doubles: 1, lost: 0 },
    });
  });

  it('an acknowledged commit in the tail is lost if the tail is discarded', () => {
    const result = classifyFailover(
      facts({
        acknowledged: new Map([['k1', ['x1']]]),
        oldPrimary: new Map([['k1', 'x1']]),
      }),
    );
    expect(result).toMatchObject({
      tail: 1,
      tailAcknowledged: 1,
      discardTail: { doubles: 0, lost: 1 },
      recoverTail: { doubles: 0, lost: 0 },
    });
  });

  it('a tail commit the old relay already published is a double even when the tail is discarded', () => {
    const result = classifyFailover(
      facts({
        acknowledged: new Map([['k1', ['y1']]]),
        oldPrimary: new Map([['k1', 'x1']]),
        promoted: new Map([['k1', ['y1']]]),
        publishedByOldPrimary: new Set(['x1']),
      }),
    );
    expect(result.discardTail.doubles).toBe(1);
    expect(result.tailPublished).toBe(1);
  });

  it('two different charge ids answered for one key are a double under either policy', () => {
    const result = classifyFailover(
      facts({
        acknowledged: new Map([['k1', ['x1', 'y1']]]),
        oldPrimary: new Map([['k1', 'x1']]),
        promoted: new Map([['k1', ['y1']]]),
      }),
    );
    expect(result.discardTail.doubles).toBe(1);
    expect(result.recoverTail.doubles).toBe(1);
    expect(result.doubleKeys).toEqual(['k1']);
  });

  it('an operation never answered is reported', () => {
    const result = classifyFailover(facts({ acknowledged: new Map([['k1', []]]) }));
    expect(result.unanswered).toBe(1);
  });
});
