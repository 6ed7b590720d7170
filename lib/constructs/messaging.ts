import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Visibility timeout per consumer timeout, as AWS advises for an SQS event source. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface MessagingProps {
  /** The consumer function's timeout; the queue hides a received message six times as long. */
  readonly consumerTimeout: Duration;
  /** Receives of one message before it is moved to the dead-letter queue. */
  readonly maxReceiveCount: number;
}

/**
 * The charge-event queue between the relay and the ledger consumer: SQS FIFO, ordered per
 * customer (MessageGroupId) and deduplicated by the outbox event id (MessageDeduplicationId,
 * set by the relay: content-based deduplication is off, because a republished event must be
 * recognised by its id, not by its bytes). A message failing `maxReceiveCount` times goes to
 * a FIFO dead-letter queue, which the alarms watch.
 */
export class Messaging extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Dead-lettered charge events are money not yet in the ledger: never deleted with a stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.queue = new sqs.Queue(this, 'ChargeEventsQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: deduplication and throughput quotas per customer group.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(
        props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR,
      ),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      // Holds events the outbox already marked published: deleting it would lose charges.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
