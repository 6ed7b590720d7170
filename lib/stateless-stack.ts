import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import { RELAY_SETTINGS } from '../functions/relay/relay-settings.ts';
import { type FunctionName, isBundled, type PaymentsConfig } from './config.ts';
import { Observability } from './constructs/observability.ts';
import { PaymentsApi } from './constructs/payments-api.ts';
import { PaymentsFunction, type PaymentsFunctionProps } from './constructs/payments-function.ts';
import { Reconciliation } from './constructs/reconciliation.ts';
import type { StatefulResources } from './stateful-stack.ts';

export interface StatelessStackProps extends StackProps {
  readonly config: PaymentsConfig;
  readonly stateful: StatefulResources;
}

/** The relay's schedule: it only makes sure one relay is running (each drains for its timeout). */
export const RELAY_SCHEDULE = Duration.seconds(RELAY_SETTINGS.scheduleSeconds);
const CHARGE_TIMEOUT = Duration.seconds(15);
const CONSUMER_BATCH_SIZE = 10;
const CONSUMER_MAX_CONCURRENCY = 5;

/**
 * The code and its wiring, replaceable at any time without losing data: the functions, the
 * API, the relay schedule, the consumer's event source, the migrations run on deploy, and
 * the dashboard and alarms.
 */
export class StatelessStack extends Stack {
  readonly functions: Record<FunctionName, PaymentsFunction>;
  readonly api: PaymentsApi;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, stateful } = props;
    const fn = (
      name: FunctionName,
      rest: Omit<PaymentsFunctionProps, 'name' | 'network' | 'bundled'>,
    ) =>
      new PaymentsFunction(this, pascalCase(name), {
        name,
        network: stateful.network,
        bundled: isBundled(config.bundle, name),
        ...rest,
      }).bindDatabase(stateful.database);

    const charge = fn('charge', {
      description: 'POST /charge: idempotent charge creation (charge row + outbox row)',
      timeout: CHARGE_TIMEOUT,
      memorySize: 1024,
      environment: {
        IDEMPOTENCY_TTL_SECONDS: String(config.idempotencyTtl.toSeconds()),
        // A claim must outlive the invocation holding it, or a retry could take over a charge
        // that is still being written; the function can never run longer than its timeout.
        IDEMPOTENCY_IN_PROGRESS_SECONDS: String(CHARGE_TIMEOUT.toSeconds()),
      },
    });
    if (stateful.cache) charge.bindCache(stateful.cache);

    const getCharge = fn('get-charge', {
      description: 'GET /charges/{id}: a charge and its ledger state, for its own client only',
      timeout: Duration.seconds(10),
    });
    const health = fn('health', {
      description: 'GET /health: database reachability',
      timeout: Duration.seconds(5),
      memorySize: 256,
    });

    const authorizer = fn('authorizer', {
      description: 'API REQUEST authorizer: x-api-key secret -> client id and usage key',
      timeout: Duration.seconds(5),
      memorySize: 256,
    });
    // Not behind the API: an operator invokes it (aws lambda invoke) to manage client keys.
    const clients = fn('clients', {
      description: 'Creates, lists, rotates and revokes API clients and their secret keys',
      timeout: Duration.seconds(30),
      memorySize: 256,
    });

    const relay = fn('relay', {
      description: 'Drains the outbox to SQS FIFO and EventBridge, rate-limited, one at a time',
      // One invocation drains for nearly all of this; the schedule starts the next.
      timeout: Duration.seconds(RELAY_SETTINGS.timeoutSeconds),
      environment: { RELAY_MAX_EVENTS_PER_SECOND: String(config.relayMaxEventsPerSecond) },
      // One relay at a time (the lease in PostgreSQL fences any overlap that slips through):
      // a tick while one runs is throttled, and dropped once older than the max event age.
      reservedConcurrentExecutions: 1,
      maxEventAge: Duration.seconds(RELAY_SETTINGS.maxEventAgeSeconds),
      retryAttempts: 0,
    })
      .bindChargeQueue(stateful.chargeEventsQueue)
      .bindDeadLetterQueue(stateful.deadLetterQueue)
      .bindEventBus(stateful.eventBus);
    const relaySchedule = new events.Rule(this, 'RelaySchedule', {
      description: 'Makes sure an outbox relay is running (each one drains for up to 15 minutes)',
      schedule: events.Schedule.rate(RELAY_SCHEDULE),
      targets: [new targets.LambdaFunction(relay.function, { retryAttempts: 0 })],
    });

    const consumer = fn('consumer', {
      description: 'Applies charge events to the ledger once (inbox dedup), partial batch failures',
      timeout: config.consumerTimeout,
    }).bindDeadLetterQueue(stateful.deadLetterQueue);
    // Poison messages are moved to the DLQ by the consumer itself, at once.
    stateful.deadLetterQueue.grantSendMessages(consumer.function);
    consumer.function.addEventSource(
      new SqsEventSource(stateful.chargeEventsQueue, {
        batchSize: CONSUMER_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: CONSUMER_MAX_CONCURRENCY,
      }),
    );

    const migrate = fn('migrate', {
      description: 'Applies pending database migrations (run by a trigger on every deploy)',
      timeout: Duration.minutes(5),
      memorySize: 256,
      copyIntoBundle: ['migrations'],
    });

    this.api = new PaymentsApi(this, 'Api', {
      chargeFunction: charge.function,
      getChargeFunction: getCharge.function,
      healthFunction: health.function,
      authorizerFunction: authorizer.function,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
    });

    // Migrations run after the database exists and before anything can call the new code:
    // the trigger re-runs whenever the migrate bundle (and so its SQL files) changes.
    const migrations = new triggers.Trigger(this, 'MigrateOnDeploy', {
      handler: migrate.function,
      timeout: Duration.minutes(5),
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      executeOnHandlerChange: true,
    });
    migrations.executeBefore(this.api, relaySchedule, consumer);

    this.observability = new Observability(this, 'Observability', {
      deadLetterQueue: stateful.deadLetterQueue,
      attemptThreeAlarmThreshold: config.attemptThreeAlarmThreshold,
      alarmEmail: config.alarmEmail,
    });

    const reconciliation = new Reconciliation(this, 'Reconciliation', {
      network: stateful.network,
      bundled: isBundled(config.bundle, 'reconciliation'),
      database: stateful.database,
      alarmTopic: this.observability.topic,
      dashboard: this.observability.dashboard,
    });
    migrations.executeBefore(reconciliation);

    this.functions = {
      reconciliation: reconciliation.function,
      charge,
      'get-charge': getCharge,
      health,
      relay,
      consumer,
      migrate,
      authorizer,
      clients,
    };
  }
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());
}
