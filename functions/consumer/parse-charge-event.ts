import * as z from 'zod/mini';
import { type ChargeCreatedMessage, chargeCreatedMessageSchema } from '../domain/charge-events.ts';

/** A message body read as a charge event, or why it never can be. */
export type ParsedChargeEvent =
  | { ok: true; message: ChargeCreatedMessage }
  | { ok: false; reason: string };

/**
 * Parses a message body. A body that is not JSON, or does not match the message schema, can
 * never be applied however often it is retried: the reason says why, for the DLQ.
 */
export function parseChargeEvent(body: string): ParsedChargeEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  const parsed = chargeCreatedMessageSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: `schema: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}` };
  }
  return { ok: true, message: parsed.data };
}
