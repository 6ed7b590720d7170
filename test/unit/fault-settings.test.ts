import { describe, expect, it } from 'vitest';
import { parseFaultSettings } from '../../scripts/fault-proxy/fault-settings.ts';

describe('fault settings from JSON', () => {
  it('reads every fault', () => {
    expect(
      parseFaultSettings({
        lostResponse: { firstN: 2, fraction: 0.5 },
        reset: true,
        delayMs: 30,
        outage: { durationMs: 1000, retryAfterSeconds: 2 },
      }),
    ).toEqual({
      lostResponse: { firstN: 2, fraction: 0.5 },
      reset: true,
      delayMs: 30,
      outage: { durationMs: 1000, retryAfterSeconds: 2 },
    });
    expect(parseFaultSettings({ outage: false, reset: false })).toEqual({
      outage: false,
      reset: false,
    });
  });

  it('refuses anything else, naming the field', () => {
    expect(() => parseFaultSettings({ lostRespnse: true })).toThrow(
      'unknown fault "lostRespnse" (known: lostResponse, reset, delayMs, outage)',
    );
    expect(() => parseFaultSettings({ delayMs: -1 })).toThrow(
      'delayMs must be a non-negative number',
    );
    expect(() => parseFaultSettings({ reset: { fraction: 2 } })).toThrow('reset');
    expect(() => parseFaultSettings({ outage: true })).toThrow(
      'outage must be false or {durationMs?, retryAfterSeconds?}',
    );
    expect(() => parseFaultSettings([])).toThrow('fault settings must be a JSON object');
  });
});
