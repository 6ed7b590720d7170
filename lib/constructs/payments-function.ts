import * as path from 'node:path';
import { type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvVar } from '../../functions/commons/settings.ts';
import { METRIC_NAMESPACE, SERVICE_NAME } from '../../primitives/metric-names.ts';
import type { FunctionName } from '../config.ts';
import type { DatabaseAccess, DatabaseRole } from './database.ts';
import type { CacheAccess } from './hot-tier-cache.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const RUNTIME = lambda.Runtime.NODEJS_24_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;

/**
 * Lets CommonJS dependencies (pg and friends) call `require` inside an ES module bundle;
 * esbuild's ESM output has no `require` of its own. The import is aliased because bundled
 * ESM code (node-pg-migrate) imports `createRequire` itself, and a second top-level binding
 * of the same name would be a SyntaxError at cold start.
 */
export const CREATE_REQUIRE_BANNER =
  "import { createRequire as __bannerCreateRequire } from 'node:module'; const require = __bannerCreateRequire(import.meta.url);";

/** Stands in for a bundle when bundling is skipped; never meant to be deployed. */
const UNBUNDLED_STUB =
  "exports.handler = async () => { throw new Error('synthesized without bundling (bundle=none)'); };";

/** Where the functions run: the isolated subnets, behind the one functions security group. */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly functionSecurityGroup: ec2.ISecurityGroup;
}

export interface PaymentsFunctionProps {
  /** The folder under `functions/` whose `handler.ts` exports `handler`. */
  readonly name: FunctionName;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize?: number;
  /** undefined (localstack profile): outside any VPC. */
  readonly network: FunctionNetwork | undefined;
  /** false: an inline stub instead of an esbuild bundle (see BundleSelection). */
  readonly bundled: boolean;
  readonly environment?: Record<string, string>;
  /** Folders beside the entry copied next to the bundle (read relative to import.meta.url). */
  readonly copyIntoBundle?: readonly string[];
  /** Retries of asynchronous invocations (schedules); Lambda's default is 2. */
  readonly retryAttempts?: number;
  /** How long an asynchronous invocation may wait (throttled) before it is dropped. */
  readonly maxEventAge?: Duration;
  /** Concurrency reserved for (and capping) this function. */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One payments Lambda: Node.js 24 on arm64, an ESM esbuild bundle with source maps, its own
 * log group, in the VPC. The `bind*` methods set a dependency's environment variable and
 * grant the least privilege it needs together, so neither can be forgotten without the other.
 */
export class PaymentsFunction extends Construct {
  readonly function: lambda.Function;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: PaymentsFunctionProps) {
    super(scope, id);
    this.timeout = props.timeout;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const common: lambda.FunctionOptions = {
      architecture: ARCHITECTURE,
      description: props.description,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 512,
      ...(props.network && {
        vpc: props.network.vpc,
        vpcSubnets: props.network.subnets,
        securityGroups: [props.network.functionSecurityGroup],
      }),
      logGroup,
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    };
    this.function = props.bundled
      ? bundledFunction(this, props, common)
      : new lambda.Function(this, 'Function', {
          ...common,
          runtime: RUNTIME,
          code: lambda.Code.fromInline(UNBUNDLED_STUB),
          handler: 'index.handler',
        });

    Validations.of(this).acknowledge(
      {
        id: managedPolicyFinding('AWSLambdaBasicExecutionRole'),
        reason: 'The AWS-maintained minimum for a function to write its logs.',
      },
      {
        id: managedPolicyFinding('AWSLambdaVPCAccessExecutionRole'),
        reason: 'The AWS-maintained minimum for a function to attach its ENIs in the VPC.',
      },
    );
  }

  /**
   * Connect as `role` (its own least-privilege database role and secret; `owner` is for
   * migrate alone), through the RDS Proxy or to the writer, with every statement limited to
   * well under the function's timeout.
   */
  bindDatabase(database: DatabaseAccess, role: DatabaseRole | 'owner'): this {
    const timeoutMs = this.timeout.toMilliseconds();
    // The server cancels a statement at 60 % of the timeout, pg gives up at 70 %: the
    // invocation still has time to answer (a problem+json 500, safe to retry) and release.
    // Capped at 30 s / 35 s: no statement here should take that long, and a long-running
    // loop (the relay's 15 minutes) must not wait minutes on one stuck statement.
    const statementMs = Math.min(Math.floor(timeoutMs * 0.6), 30_000);
    const queryMs = Math.min(Math.floor(timeoutMs * 0.7), 35_000);
    this.function.addEnvironment(EnvVar.DB_STATEMENT_TIMEOUT_MS, String(statementMs));
    this.function.addEnvironment(EnvVar.DB_QUERY_TIMEOUT_MS, String(queryMs));
    if (database.kind === 'external') {
      this.function.addEnvironment(EnvVar.DATABASE_URL, database.url);
      return this;
    }
    const secret = role === 'owner' ? database.ownerSecret : database.roleSecrets[role];
    this.function.addEnvironment(EnvVar.DATABASE_SECRET_ARN, secret.secretArn);
    this.function.addEnvironment(EnvVar.DATABASE_HOST, database.host);
    this.function.addEnvironment(EnvVar.DATABASE_NAME, database.name);
    // The runtime ships the RDS certificate bundle but loads it only when asked.
    if (!database.viaProxy) {
      this.function.addEnvironment('NODE_EXTRA_CA_CERTS', '/var/runtime/ca-cert.pem');
    }
    secret.grantRead(this.function);
    return this;
  }

  /** Migrate only: set each function role's password from its secret (DATABASE_ROLE_SECRETS). */
  bindRoleSecrets(database: DatabaseAccess): this {
    if (database.kind === 'external') return this;
    const arns = Object.fromEntries(
      Object.entries(database.roleSecrets).map(([role, secret]) => [role, secret.secretArn]),
    );
    this.function.addEnvironment(EnvVar.DATABASE_ROLE_SECRETS, Stack.of(this).toJsonString(arns));
    for (const secret of Object.values(database.roleSecrets)) secret.grantRead(this.function);
    return this;
  }

  /** Publish charge events to the FIFO queue. */
  bindChargeQueue(queue: sqs.IQueue): this {
    this.function.addEnvironment(EnvVar.QUEUE_URL, queue.queueUrl);
    queue.grantSendMessages(this.function);
    return this;
  }

  /** Read the dead-letter queue's depth (and nothing else from it). */
  bindDeadLetterQueue(queue: sqs.IQueue): this {
    this.function.addEnvironment(EnvVar.DLQ_URL, queue.queueUrl);
    queue.grant(this.function, 'sqs:GetQueueAttributes');
    return this;
  }

  /** Put charge events on the bus. */
  bindEventBus(bus: events.IEventBus): this {
    this.function.addEnvironment(EnvVar.PUBLISH_TO_EVENT_BUS, 'true');
    this.function.addEnvironment(EnvVar.EVENT_BUS_NAME, bus.eventBusName);
    bus.grantPutEventsTo(this.function);
    return this;
  }

  /** Use the hot tier in front of Postgres; the security groups already admit the function. */
  bindCache(cache: CacheAccess): this {
    this.function.addEnvironment(EnvVar.IDEMPOTENCY_CACHE, 'redis');
    this.function.addEnvironment(EnvVar.REDIS_URL, cache.url);
    return this;
  }
}

function bundledFunction(
  scope: Construct,
  props: PaymentsFunctionProps,
  common: lambda.FunctionOptions,
): lambda.Function {
  const functionDir = path.join(REPO_ROOT, 'functions', props.name);
  const copies = props.copyIntoBundle ?? [];
  return new NodejsFunction(scope, 'Function', {
    ...common,
    runtime: RUNTIME,
    entry: path.join(functionDir, 'handler.ts'),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: {
      format: OutputFormat.ESM,
      target: 'node24',
      mainFields: ['module', 'main'],
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      banner: CREATE_REQUIRE_BANNER,
      // The runtime ships the AWS SDK v3; pg-native is an optional addon pg never loads here.
      externalModules: ['@aws-sdk/*', 'pg-native'],
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir, outputDir) =>
          copies.map(
            (folder) =>
              `cp -R "${path.join(inputDir, 'functions', props.name, folder)}" "${path.join(outputDir, folder)}"`,
          ),
      },
    },
  });
}

/** The cdk-nag finding id of an AWS-managed service-role policy attached to a role. */
export function managedPolicyFinding(policy: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`;
}
