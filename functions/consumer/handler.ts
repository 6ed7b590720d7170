import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createSqsClient } from '../commons/aws-clients.ts';
import { failpoint } from '../commons/failpoints.ts';
import { countMetric, logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { openConnections } from '../store/database.ts';
import { functionPool } from '../store/database-connection.ts';
import { applyLedgerPostings } from '../store/ledger-store.ts';
import { sendToDeadLetterQueue } from './dead-letter.ts';
import { parseChargeEvent } from './parse-charge-event.ts';

const settings = loadSettings('consumer', logger);
const db = await functionPool(settings);
await openConnections(db, settings.DB_POOL_MAX);
const sqs = createSqsClient();
const deadLetterQueueUrl = settings.DLQ_URL;

/**
 * Applies one charge event to the ledger. A message that fails the schema is poison: it is
 * moved to the DLQ at once and acknowledged, so its customer's later messages go on. Any
 * other failure (the database) throws: SQS redelivers the message, and after maxReceiveCount
 * moves it to the DLQ; SQS keeps that count, so it survives a database outage.
 */
async function applyChargeEvent(record: SQSRecord): Promise<void> {
  const parsed = parseChargeEvent(record.body);
  if (!parsed.ok) {
    // If this send fails, the message fails and is retried like any transient failure.
    await sendToDeadLetterQueue(sqs, deadLetterQueueUrl, record, parsed.reason);
    countMetric('poison_message_total');
    logger.error('poison message moved to the DLQ', {
      messageId: record.messageId,
      reason: parsed.reason,
    });
    return;
  }
  const outcome = await applyLedgerPostings(db, parsed.message);
  // Counted at commit, so a crash below cannot lose the count.
  countMetric(outcome === 'applied' ? 'ledger_applied_total' : 'inbox_duplicate_total');
  // Applied but not acknowledged: a crash here means a redelivery the inbox must absorb.
  failpoint('consumer.after-apply');
}

/**
 * The SQS FIFO event handler. With skipGroupOnError, a message that fails (transiently) fails
 * the rest of its own message group in this batch (their order must hold) while other
 * customers' messages are still applied.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const processor = new SqsFifoPartialProcessorAsync();
  return processPartialResponse(event, applyChargeEvent, processor, {
    context,
    skipGroupOnError: true,
    throwOnFullBatchFailure: false,
  });
}
