import { describe, expect, it } from 'vitest';
import { parseChargeEvent } from '../../functions/consumer/parse-charge-event.ts';
import {
  type ChargeCreatedMessage,
  ledgerPostingsFor,
} from '../../functions/domain/charge-events.ts';
import { deduplicationIdOf } from '../../functions/relay/sqs-publisher.ts';

const message: ChargeCreatedMessage = {
  eventId: '2b1f4a1e-9a53-4c39-8c2a-0d6f0b1e7a11',
  type: 'charge.created',
  occurredAt: '2026-01-01T00:00:00.000Z',
  data: {
    chargeId: '8d0c9f7e-3c5a-4d6b-9f3e-1a2b3c4d5e6f',
    clientId: 'client-a',
    customerId: 'cus_1',
    amount: 1234,
    currency: 'EUR',
  },
};

describe('ledgerPostingsFor', () => {
  it('debits the customer and credits the merchant client the same amount in the same currency', () => {
    expect(ledgerPostingsFor(message)).toEqual([
      { account: 'customer:cus_1:receivable', direction: 'debit', amount: 1234, currency: 'EUR' },
      { account: 'merchant:client-a:payable', direction: 'credit', amount: 1234, currency: 'EUR' },
    ]);
  });

  it('balances for any amount', () => {
    for (const amount of [1, 99, 100_000_000]) {
      const postings = ledgerPostingsFor({ ...message, data: { ...message.data, amount } });
      const net = postings.reduce(
        (sum, posting) => sum + (posting.direction === 'debit' ? posting.amount : -posting.amount),
        0,
      );
      expect(net).toBe(0);
    }
  });
});

describe('parseChargeEvent', () => {
  it('accepts a valid charge event', () => {
    expect(parseChargeEvent(JSON.stringify(message))).toEqual({ ok: true, message });
  });

  it('names why a poison message can never be applied', () => {
    expect(parseChargeEvent('{not json')).toEqual({ ok: false, reason: 'the body is not JSON' });
    const badId = parseChargeEvent(JSON.stringify({ ...message, eventId: 'not-a-uuid' }));
    expect(badId.ok).toBe(false);
    expect(!badId.ok && badId.reason).toContain('eventId');
    const badAmount = parseChargeEvent(
      JSON.stringify({ ...message, data: { ...message.data, amount: 0 } }),
    );
    expect(!badAmount.ok && badAmount.reason).toContain('amount');
  });
});

describe('deduplicationIdOf', () => {
  it('is the event id, plus the re-enqueue count once reconciliation re-enqueued it', () => {
    expect(deduplicationIdOf({ eventId: 'e1', republishCount: 0 })).toBe('e1');
    expect(deduplicationIdOf({ eventId: 'e1', republishCount: 2 })).toBe('e1-r2');
  });
});
