import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { numberEnv } from '../commons/config.ts';
import { failpoint } from '../commons/failpoints.ts';
import { countMetric } from '../commons/powertools.ts';
import { chargeCreatedMessageSchema } from '../domain/charge-events.ts';
import { createPool, openConnections } from '../store/database.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';
import { applyLedgerPostings } from '../store/ledger-store.ts';

const poolSize = numberEnv('DB_POOL_MAX', 2);
const db = createPool(await databaseConnectionFromEnvironment(), { max: poolSize });
await openConnections(db, poolSize);

/**
 * Applies one charge event to the ledger. Throwing fails this message only: SQS redelivers
 * it, and after maxReceiveCount moves it to the DLQ. A message that does not parse is poison
 * and fails every time, by design, so it ends up there for a human.
 */
async function applyChargeEvent(record: SQSRecord): Promise<void> {
  const message = chargeCreatedMessageSchema.parse(JSON.parse(record.body));
  const outcome = await applyLedgerPostings(db, message);
  // Counted at commit, so a crash below cannot lose the count.
  countMetric(outcome === 'applied' ? 'ledger_applied_total' : 'inbox_duplicate_total');
  // Applied but not acknowledged: a crash here means a redelivery the inbox must absorb.
  failpoint('consumer.after-apply');
}

/**
 * The SQS FIFO event handler. With skipGroupOnError, a failing message fails the rest of its
 * own message group in this batch (their order must hold) while other customers' messages
 * are still applied.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const processor = new SqsFifoPartialProcessorAsync();
  return processPartialResponse(event, applyChargeEvent, processor, {
    context,
    skipGroupOnError: true,
    throwOnFullBatchFailure: false,
  });
}
