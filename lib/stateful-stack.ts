import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PaymentsConfig } from './config.ts';
import { Database, type DatabaseAccess } from './constructs/database.ts';
import { ChargeEventBus } from './constructs/event-bus.ts';
import { type CacheAccess, HotTierCache } from './constructs/hot-tier-cache.ts';
import { Messaging } from './constructs/messaging.ts';
import { Network } from './constructs/network.ts';
import type { FunctionNetwork } from './constructs/payments-function.ts';

export interface StatefulStackProps extends StackProps {
  readonly config: PaymentsConfig;
}

/** What the stateless stack is given: the stateful resources, typed, never looked up by name. */
export interface StatefulResources {
  /** undefined in the localstack profile (no VPC). */
  readonly network: FunctionNetwork | undefined;
  readonly database: DatabaseAccess;
  readonly chargeEventsQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly eventBus: events.IEventBus;
  /** Present when the hot tier is switched on (context hotTier=true). */
  readonly cache: CacheAccess | undefined;
}

/**
 * Everything that holds data or identity and must survive a redeploy of the code: the VPC,
 * the database and its secret, the queues, the event bus and the optional cache.
 */
export class StatefulStack extends Stack {
  readonly resources: StatefulResources;
  /** undefined in the localstack profile, whose database is external. */
  readonly database: Database | undefined;
  readonly network: Network | undefined;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    const local = config.profile === 'localstack';
    if (local && config.hotTier)
      throw new Error('hotTier is not available with profile=localstack');
    this.network = local
      ? undefined
      : new Network(this, 'Network', { endpointZones: config.profile === 'sandbox' ? 1 : 2 });
    this.database = this.network
      ? new Database(this, 'Database', {
          network: this.network,
          deletionProtection: config.deletionProtection,
          minCapacity: config.databaseMinCapacity,
          maxCapacity: config.databaseMaxCapacity,
          proxy: config.profile === 'production',
        })
      : undefined;
    const database: DatabaseAccess = this.database ?? {
      kind: 'external',
      url: config.externalDatabaseUrl ?? '',
    };
    const messaging = new Messaging(this, 'Messaging', {
      consumerTimeout: config.consumerTimeout,
      maxReceiveCount: config.maxReceiveCount,
    });
    const eventBus = new ChargeEventBus(this, 'ChargeEvents');
    const cache =
      config.hotTier && this.network
        ? new HotTierCache(this, 'HotTier', { network: this.network })
        : undefined;

    this.resources = {
      network: this.network,
      database,
      chargeEventsQueue: messaging.queue,
      deadLetterQueue: messaging.deadLetterQueue,
      eventBus: eventBus.bus,
      cache,
    };
  }
}
