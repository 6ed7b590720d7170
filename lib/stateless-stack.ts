import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import { EnvVar } from '../functions/commons/settings.ts';
import {
  INBOX_RETENTION_SECONDS,
  PUBLISHED_OUTBOX_RETENTION_SECONDS,
} from '../functions/housekeeping/retention.ts';
import { RELAY_SETTINGS } from '../functions/relay/relay-settings.ts';
import { type FunctionName, isBundled, type PaymentsConfig } from './config.ts';
import type { DatabaseRole } from './constructs/database.ts';
import { expireEveryLogGroup } from './constructs/log-retention.ts';
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
/** Housekeeping runs every minute, so each run's backlog is a minute of writes. */
export const HOUSEKEEPING_SCHEDULE = Duration.minutes(1);
/** Long enough for the proxy of a first deploy to start accepting connections. */
const MIGRATE_TIMEOUT = Duration.minutes(10);
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
      role: DatabaseRole | 'owner',
      rest: Omit<PaymentsFunctionProps, 'name' | 'network' | 'bundled'>,
    ) =>
      new PaymentsFunction(this, pascalCase(name), {
        name,
        network: stateful.network,
        bundled: isBundled(config.bundle, name),
        ...rest,
      }).bindDatabase(stateful.database, role);

    const charge = fn('charge', 'payments_charge', {
      description: 'POST /charge: idempotent charge creation (charge row + outbox row)',
      timeout: CHARGE_TIMEOUT,
      memorySize: 1024,
      environment: {
        [EnvVar.IDEMPOTENCY_TTL_SECONDS]: String(config.idempotencyTtl.toSeconds()),
        // A claim must outlive the invocation holding it, or a retry could take over a charge
        // that is still being written; the function can never run longer than its timeout.
        [EnvVar.IDEMPOTENCY_IN_PROGRESS_SECONDS]: String(CHARGE_TIMEOUT.toSeconds()),
      },
    });
    if (stateful.cache) charge.bindCache(stateful.cache);

    const getCharge = fn('get-charge', 'payments_get_charge', {
      description: 'GET /charges/{id}: a charge and its ledger state, for its own client only',
      timeout: Duration.seconds(10),
    });
    // SELECT 1 needs no table: the read-only role of GET /charges/{id} is more than enough.
    const health = fn('health', 'payments_get_charge', {
      description: 'GET /health: database reachability',
      timeout: Duration.seconds(5),
      memorySize: 256,
    });

    const authorizer = fn('authorizer', 'payments_authorizer', {
      description: 'API REQUEST authorizer: x-api-key secret -> client id and usage key',
      timeout: Duration.seconds(5),
      memorySize: 256,
    });
    // Not behind the API: an operator invokes it (aws lambda invoke) to manage client keys.
    const clients = fn('clients', 'payments_client_admin', {
      description: 'Creates, lists, rotates and revokes API clients and their secret keys',
      timeout: Duration.seconds(30),
      memorySize: 256,
    });
    new CfnOutput(this, 'ClientsFunctionName', {
      value: clients.function.functionName,
      description: 'aws lambda invoke --function-name <this>: create, rotate, revoke client keys',
    });

    const relay = fn('relay', 'payments_relay', {
      description: 'Drains the outbox to SQS FIFO and EventBridge, rate-limited, one at a time',
      // One invocation drains for nearly all of this; the schedule starts the next.
      timeout: Duration.seconds(RELAY_SETTINGS.timeoutSeconds),
      environment: {
        [EnvVar.RELAY_MAX_EVENTS_PER_SECOND]: String(config.relayMaxEventsPerSecond),
      },
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

    const consumer = fn('consumer', 'payments_consumer', {
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

    const housekeeping = fn('housekeeping', 'payments_housekeeping', {
      description:
        'Purges expired idempotency records, old published outbox rows and old inbox rows',
      timeout: HOUSEKEEPING_SCHEDULE,
      memorySize: 256,
      environment: {
        [EnvVar.INBOX_RETENTION_SECONDS]: String(INBOX_RETENTION_SECONDS),
        [EnvVar.OUTBOX_RETENTION_SECONDS]: String(PUBLISHED_OUTBOX_RETENTION_SECONDS),
      },
      retryAttempts: 0,
    });
    const housekeepingSchedule = new events.Rule(this, 'HousekeepingSchedule', {
      description: 'Runs the database housekeeping every minute',
      schedule: events.Schedule.rate(HOUSEKEEPING_SCHEDULE),
      targets: [new targets.LambdaFunction(housekeeping.function, { retryAttempts: 0 })],
    });

    const migrate = fn('migrate', 'owner', {
      description: 'Applies pending database migrations (run by a trigger on every deploy)',
      timeout: MIGRATE_TIMEOUT,
      memorySize: 256,
      copyIntoBundle: ['migrations'],
    }).bindRoleSecrets(stateful.database);

    this.api = new PaymentsApi(this, 'Api', {
      chargeFunction: charge.function,
      getChargeFunction: getCharge.function,
      healthFunction: health.function,
      authorizerFunction: authorizer.function,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
    });

    this.observability = new Observability(this, 'Observability', {
      deadLetterQueue: stateful.deadLetterQueue,
      api: this.api.api,
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

    // Migrations run after the database exists and before anything can call the new code:
    // the trigger re-runs whenever the migrate bundle (and so its SQL files) changes. Every
    // function that needs the schema is created or updated only after it (their code can then
    // never run against a database that lacks its migration), and so are their callers: the
    // API, the schedules and the event source mapping.
    const migrations = new triggers.Trigger(this, 'MigrateOnDeploy', {
      handler: migrate.function,
      timeout: MIGRATE_TIMEOUT,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      executeOnHandlerChange: true,
    });
    // Found rather than listed, so any function defined above (reconciliation's, inside its
    // construct, included) waits without anyone remembering to list it. Keep this block last.
    const schemaDependent = this.node
      .findAll()
      .filter((node): node is PaymentsFunction => node instanceof PaymentsFunction)
      .filter((candidate) => candidate !== migrate)
      .map((candidate) => candidate.function);
    migrations.executeBefore(
      ...schemaDependent,
      this.api,
      relaySchedule,
      housekeepingSchedule,
      reconciliation,
    );

    expireEveryLogGroup(this, [this.api.api]);

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
      housekeeping,
    };
  }
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());
}
