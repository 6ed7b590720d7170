import { describe, expect, it } from 'vitest';
import { DATABASE_ROLES } from '../../lib/constructs/database.ts';
import {
  paymentsFunctions,
  resourceNamed,
  resourcesOf,
  synthPayments,
} from './support/synth-payments.ts';

/**
 * Issue 16: what a payment engineer checks before trusting the deployment with money:
 * retained state, timeouts, TLS, deploy order, endpoints, log retention, the profiles.
 */
const production = synthPayments();
const sandbox = synthPayments({}, { profile: 'sandbox' });

type Template = typeof production.statefulTemplate;
const typesOf = (template: Template) =>
  Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map(
    (resource) => resource.Type,
  );

describe('money state is retained when a stack is deleted or a resource replaced', () => {
  const template = production.statefulTemplate;

  it.each([
    ['AWS::SQS::Queue', 'MessagingChargeEventsQueue'],
    ['AWS::SQS::Queue', 'MessagingDeadLetterQueue'],
    ['AWS::Events::EventBus', 'ChargeEventsBus'],
    ['AWS::Events::Archive', 'ChargeEventsBusArchive'],
    ['AWS::SecretsManager::Secret', 'PaymentsStatefulDatabaseClusterSecret'],
    ['AWS::RDS::DBCluster', 'DatabaseCluster'],
  ])('%s %s', (type, prefix) => {
    const [, resource] = resourceNamed(template, type, prefix);
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('every secret (owner and each function role) is retained', () => {
    const secrets = Object.values(resourcesOf(template, 'AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(1 + DATABASE_ROLES.length);
    for (const secret of secrets) expect(secret).toMatchObject({ DeletionPolicy: 'Retain' });
  });

  it('the sandbox cluster leaves a final snapshot', () => {
    sandbox.statefulTemplate.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Snapshot' });
  });
});

describe('credentials', () => {
  const template = production.statefulTemplate;

  it('one secret per function role, each attached to the cluster and rotated every 30 days', () => {
    const secrets = JSON.stringify(resourcesOf(template, 'AWS::SecretsManager::Secret'));
    for (const role of DATABASE_ROLES) {
      expect(secrets).toContain(`{\\"username\\":\\"${role}\\",\\"masterarn\\":`);
      const [, attachment] = resourceNamed(
        template,
        'AWS::SecretsManager::SecretTargetAttachment',
        `Database${role.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase())}SecretAttachment`,
      );
      expect(attachment.Properties.TargetType).toBe('AWS::RDS::DBCluster');
    }
    expect(
      Object.keys(resourcesOf(template, 'AWS::SecretsManager::RotationSchedule')),
    ).toHaveLength(1 + DATABASE_ROLES.length);
    template.allResourcesProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    // Role secrets wait for the first scheduled rotation: their roles do not exist yet.
    const schedules = Object.values(resourcesOf(template, 'AWS::SecretsManager::RotationSchedule'));
    expect(
      schedules.filter((schedule) => schedule.Properties.RotateImmediatelyOnUpdate === false),
    ).toHaveLength(DATABASE_ROLES.length);
  });

  it('only migrate has the owner secret and the role secrets to set passwords from', () => {
    const environments = Object.entries(paymentsFunctions(production.statelessTemplate)).map(
      ([id, fn]) =>
        [
          id,
          (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
        ] as const,
    );
    const withOwner = environments.filter(([, env]) =>
      JSON.stringify(env.DATABASE_SECRET_ARN).includes('DatabaseClusterSecretAttachment'),
    );
    expect(withOwner.map(([id]) => id)).toEqual([expect.stringMatching(/^MigrateFunction/)]);
    const migrateEnv = withOwner[0]?.[1] ?? {};
    expect(JSON.stringify(migrateEnv.DATABASE_ROLE_SECRETS)).toContain('payments_consumer');
    for (const [, env] of environments) {
      // Verified TLS is never switched off in AWS.
      expect(env).not.toHaveProperty('DATABASE_TLS');
      expect(env).not.toHaveProperty('DATABASE_URL');
    }
  });
});

describe('timeouts and TLS', () => {
  it('the proxy gives up on a pooled connection after 5 s (default 120 s)', () => {
    production.statefulTemplate.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: { ConnectionBorrowTimeout: 5 },
    });
  });

  it('the cluster refuses connections without TLS (rds.force_ssl=1)', () => {
    const [parametersId] = resourceNamed(
      production.statefulTemplate,
      'AWS::RDS::DBClusterParameterGroup',
      'DatabaseClusterParameters',
    );
    production.statefulTemplate.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Parameters: { 'rds.force_ssl': '1' },
    });
    production.statefulTemplate.hasResourceProperties('AWS::RDS::DBCluster', {
      DBClusterParameterGroupName: { Ref: parametersId },
    });
  });

  it('every database statement is cut off well before its function times out', () => {
    for (const fn of Object.values(paymentsFunctions(production.statelessTemplate))) {
      const timeoutMs = (fn.Properties.Timeout as number) * 1000;
      const env = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      const statement = Number(env.DB_STATEMENT_TIMEOUT_MS);
      const query = Number(env.DB_QUERY_TIMEOUT_MS);
      expect(statement).toBeGreaterThan(0);
      expect(statement).toBeLessThan(query);
      expect(query).toBeLessThan(timeoutMs);
      expect(query).toBeLessThanOrEqual(35_000);
    }
  });
});

describe('housekeeping and log retention', () => {
  it('runs housekeeping every minute', () => {
    const [housekeepingId] = resourceNamed(
      production.statelessTemplate,
      'AWS::Lambda::Function',
      'HousekeepingFunction',
    );
    const [, rule] = resourceNamed(
      production.statelessTemplate,
      'AWS::Events::Rule',
      'HousekeepingSchedule',
    );
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(JSON.stringify(rule.Properties.Targets)).toContain(housekeepingId);
    // The relay no longer purges anything: its role stays free of the housekeeping secret.
    expect(
      JSON.stringify(
        resourceNamed(production.statelessTemplate, 'AWS::Lambda::Function', 'RelayFunction')[1],
      ),
    ).not.toContain('Housekeeping');
  });

  it("every function writes to a log group of the stack, CDK's trigger provider included", () => {
    const template = production.statelessTemplate;
    const groups = Object.keys(resourcesOf(template, 'AWS::Logs::LogGroup'));
    for (const [id, fn] of Object.entries(resourcesOf(template, 'AWS::Lambda::Function'))) {
      const group = (fn.Properties.LoggingConfig as { LogGroup?: { Ref: string } } | undefined)
        ?.LogGroup?.Ref;
      expect(groups, id).toContain(group);
    }
  });

  it('API Gateway execution logs go to a group created, with retention, before the stage', () => {
    const template = production.statelessTemplate;
    const [groupId, group] = resourceNamed(template, 'AWS::Logs::LogGroup', 'ApiExecutionLogs');
    expect(JSON.stringify(group.Properties.LogGroupName)).toContain('API-Gateway-Execution-Logs_');
    const [, stage] = resourceNamed(template, 'AWS::ApiGateway::Stage', 'ApiDeploymentStage');
    expect(stage.DependsOn).toContain(groupId);
  });

  it.each([
    ['production', production],
    ['sandbox', sandbox],
  ])('%s: every log group expires, including the one RDS exports to', (_name, app) => {
    for (const template of [app.statefulTemplate, app.statelessTemplate]) {
      for (const group of Object.values(resourcesOf(template, 'AWS::Logs::LogGroup'))) {
        expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
      }
      // No log group left for a service to create on its own, without retention.
      expect(typesOf(template)).not.toContain('Custom::LogRetention');
    }
    const [logsId, postgresLogs] = resourceNamed(
      app.statefulTemplate,
      'AWS::Logs::LogGroup',
      'DatabasePostgresLogs',
    );
    const [, cluster] = resourceNamed(
      app.statefulTemplate,
      'AWS::RDS::DBCluster',
      'DatabaseCluster',
    );
    expect(postgresLogs.Properties.LogGroupName).toBe(
      `/aws/rds/cluster/${cluster.Properties.DBClusterIdentifier}/postgresql`,
    );
    expect(cluster.DependsOn).toContain(logsId);
  });
});

describe('a known bill', () => {
  const endpointsOf = (template: Template) =>
    Object.values(resourcesOf(template, 'AWS::EC2::VPCEndpoint'));

  it('production: three interface endpoints (SQS, Secrets Manager, EventBridge) in two AZs', () => {
    const endpoints = endpointsOf(production.statefulTemplate);
    expect(endpoints).toHaveLength(3);
    for (const endpoint of endpoints) expect(endpoint.Properties.SubnetIds).toHaveLength(2);
  });

  it('sandbox: the same endpoints in one AZ, no RDS Proxy, Aurora at its 0.5 ACU minimum, no deletion protection', () => {
    const template = sandbox.statefulTemplate;
    const endpoints = endpointsOf(template);
    expect(endpoints).toHaveLength(3);
    for (const endpoint of endpoints) expect(endpoint.Properties.SubnetIds).toHaveLength(1);
    template.resourceCountIs('AWS::RDS::DBProxy', 0);
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      DeletionProtection: false,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
    });
    // Functions connect to the writer.
    const [, charge] = resourceNamed(
      sandbox.statelessTemplate,
      'AWS::Lambda::Function',
      'ChargeFunction',
    );
    expect(JSON.stringify(charge.Properties.Environment)).toMatch(/DatabaseCluster.*Endpoint/);
    // Verified TLS to the cluster needs the RDS CAs, which the runtime loads only when asked.
    expect(charge.Properties.Environment).toMatchObject({
      Variables: { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' },
    });
    const [, productionCharge] = resourceNamed(
      production.statelessTemplate,
      'AWS::Lambda::Function',
      'ChargeFunction',
    );
    expect(JSON.stringify(productionCharge.Properties.Environment)).not.toContain(
      'NODE_EXTRA_CA_CERTS',
    );
  });
});

describe('localstack profile (synthesized here; deploying it needs LocalStack, not available on this machine)', () => {
  const local = synthPayments(
    {},
    {
      profile: 'localstack',
      externalDatabaseUrl: 'postgres://postgres:postgres@host.docker.internal:5432/payments',
    },
  );

  /**
   * CloudFormation types of services in LocalStack's free tier, as we read its coverage pages
   * (not verifiable here). What matters most is what is absent: RDS, EC2 (VPC, endpoints),
   * ElastiCache and the Secrets Manager transform of hosted rotation, which it cannot deploy.
   */
  const COMMUNITY_TYPES = new Set([
    'AWS::SQS::Queue',
    'AWS::SQS::QueuePolicy',
    'AWS::Events::EventBus',
    'AWS::Events::Archive',
    'AWS::Events::Rule',
    'AWS::Lambda::Function',
    'AWS::Lambda::Permission',
    'AWS::Lambda::Version',
    'AWS::Lambda::EventSourceMapping',
    'AWS::Lambda::EventInvokeConfig',
    'AWS::Logs::LogGroup',
    'AWS::IAM::Role',
    'AWS::IAM::Policy',
    'AWS::ApiGateway::RestApi',
    'AWS::ApiGateway::Resource',
    'AWS::ApiGateway::Method',
    'AWS::ApiGateway::Model',
    'AWS::ApiGateway::RequestValidator',
    'AWS::ApiGateway::GatewayResponse',
    'AWS::ApiGateway::Authorizer',
    'AWS::ApiGateway::Deployment',
    'AWS::ApiGateway::Stage',
    'AWS::ApiGateway::Account',
    'AWS::ApiGateway::ApiKey',
    'AWS::ApiGateway::UsagePlan',
    'AWS::ApiGateway::UsagePlanKey',
    'AWS::CloudWatch::Alarm',
    'AWS::CloudWatch::CompositeAlarm',
    'AWS::CloudWatch::Dashboard',
    'AWS::SNS::Topic',
    'AWS::SNS::TopicPolicy',
    'AWS::SNS::Subscription',
    'AWS::KMS::Key',
    'Custom::Trigger',
    'Custom::AWSCDKOpenIdConnectProvider',
  ]);

  it('holds only free-tier resource types: no RDS, VPC, cache or rotation transform', () => {
    for (const template of [local.statefulTemplate, local.statelessTemplate]) {
      expect(template.toJSON().Transform).toBeUndefined();
      const unsupported = typesOf(template).filter((type) => !COMMUNITY_TYPES.has(type));
      expect(unsupported).toEqual([]);
    }
  });

  it('keeps queues, bus, functions, API and alarms; the database is the external PostgreSQL', () => {
    local.statefulTemplate.resourceCountIs('AWS::SQS::Queue', 2);
    local.statefulTemplate.resourceCountIs('AWS::Events::EventBus', 1);
    local.statelessTemplate.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    expect(
      Object.keys(resourcesOf(local.statelessTemplate, 'AWS::CloudWatch::Alarm')).length,
    ).toBeGreaterThanOrEqual(4);
    const functions = Object.values(paymentsFunctions(local.statelessTemplate));
    expect(functions.length).toBe(
      Object.keys(paymentsFunctions(production.statelessTemplate)).length,
    );
    for (const fn of functions) {
      expect(fn.Properties.VpcConfig).toBeUndefined();
      expect(
        (fn.Properties.Environment as { Variables: Record<string, string> }).Variables.DATABASE_URL,
      ).toBe('postgres://postgres:postgres@host.docker.internal:5432/payments');
    }
  });

  it('refuses to synthesize without the external database', () => {
    expect(() => synthPayments({}, { profile: 'localstack' })).toThrow(/externalDatabaseUrl/);
  });
});
