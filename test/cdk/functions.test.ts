import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '../../lib/config.ts';
import {
  actionsOf,
  paymentsFunctions,
  policyStatementsOf,
  resourceNamed,
  synthPayments,
} from './support/synth-payments.ts';

const { statelessTemplate: template } = synthPayments();
const { statelessTemplate: hotTierTemplate } = synthPayments({ hotTier: true });

type Environment = Record<string, unknown>;
function environmentOf(prefix: string, source = template): Environment {
  const [, fn] = resourceNamed(source, 'AWS::Lambda::Function', prefix);
  return (fn.Properties.Environment as { Variables: Environment }).Variables;
}

/** A value imported from the stateful stack whose export name matches `pattern`. */
const importOf = (pattern: string) => ({ 'Fn::ImportValue': expect.stringMatching(pattern) });

describe('every payments function', () => {
  const functions = Object.values(paymentsFunctions(template));

  it('exists once per entry under functions/', () => {
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
  });

  it('runs Node.js 24 on arm64', () => {
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });

  it('runs in the isolated subnets behind the functions security group', () => {
    for (const fn of functions) {
      expect(fn.Properties.VpcConfig).toEqual({
        SecurityGroupIds: [importOf('FunctionSecurityGroup')],
        SubnetIds: [importOf('isolatedSubnet1'), importOf('isolatedSubnet2')],
      });
    }
  });

  it("reaches the database through the proxy as its own role, and may read only that role's secret", () => {
    for (const [prefix, secret] of [
      ['Charge', 'DatabasePaymentsChargeSecretAttachment'],
      ['GetCharge', 'DatabasePaymentsGetChargeSecretAttachment'],
      ['Health', 'DatabasePaymentsGetChargeSecretAttachment'],
      ['Relay', 'DatabasePaymentsRelaySecretAttachment'],
      ['Consumer', 'DatabasePaymentsConsumerSecretAttachment'],
      ['Housekeeping', 'DatabasePaymentsHousekeepingSecretAttachment'],
      ['Migrate', 'DatabaseClusterSecretAttachment'],
    ] as const) {
      expect(environmentOf(`${prefix}Function`)).toMatchObject({
        DATABASE_SECRET_ARN: importOf(`OutputRef${secret}`),
        DATABASE_HOST: importOf('OutputFnGetAttDatabaseProxy.*Endpoint'),
        DATABASE_NAME: 'payments',
        POWERTOOLS_SERVICE_NAME: 'payments',
        POWERTOOLS_METRICS_NAMESPACE: 'EffectivelyOncePayments',
      });
      expect(policyStatementsOf(template, `${prefix}Function`)).toContainEqual({
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: importOf(`OutputRef${secret}`),
      });
      if (prefix === 'Migrate') continue;
      const secretsRead = policyStatementsOf(template, `${prefix}Function`).filter((statement) =>
        JSON.stringify(statement.Action).includes('secretsmanager'),
      );
      expect(secretsRead, `${prefix} reads one secret`).toHaveLength(1);
    }
  });
});

describe('charge function', () => {
  it('keeps keys 24 hours and holds a claim at least as long as the function may run', () => {
    const [, charge] = resourceNamed(template, 'AWS::Lambda::Function', 'ChargeFunction');
    const environment = environmentOf('ChargeFunction');
    expect(environment.IDEMPOTENCY_TTL_SECONDS).toBe('86400');
    expect(Number(environment.IDEMPOTENCY_IN_PROGRESS_SECONDS)).toBeGreaterThanOrEqual(
      charge.Properties.Timeout as number,
    );
  });

  it('uses the hot tier only when it is switched on', () => {
    expect(environmentOf('ChargeFunction')).not.toHaveProperty('REDIS_URL');
    expect(environmentOf('ChargeFunction', hotTierTemplate).REDIS_URL).toEqual({
      'Fn::Join': [
        '',
        [
          'rediss://',
          importOf('HotTierCache.*EndpointAddress'),
          ':',
          importOf('HotTierCache.*EndpointPort'),
        ],
      ],
    });
  });
});

describe('relay function', () => {
  it('is told where to publish and how fast', () => {
    expect(environmentOf('RelayFunction')).toMatchObject({
      QUEUE_URL: importOf('OutputRefMessagingChargeEventsQueue'),
      DLQ_URL: importOf('OutputRefMessagingDeadLetterQueue'),
      EVENT_BUS_NAME: importOf('OutputRefChargeEventsBus'),
      RELAY_MAX_EVENTS_PER_SECOND: '500',
    });
  });

  it('may send to the queue, read the DLQ depth and put events on the bus, and nothing more', () => {
    const statements = policyStatementsOf(template, 'RelayFunction');
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Resource: importOf('ChargeEventsQueue.*Arn'),
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:GetQueueAttributes',
      Resource: importOf('DeadLetterQueue.*Arn'),
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'events:PutEvents',
      Resource: importOf('ChargeEventsBus.*Arn'),
    });
    expect(actionsOf(template, 'RelayFunction').sort()).toEqual(
      [
        'events:PutEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
  });
});

describe('least privilege elsewhere', () => {
  it('lets the consumer receive and delete from the queue, and send only to the DLQ (poison)', () => {
    const actions = actionsOf(template, 'ConsumerFunction');
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']));
    expect(actions).not.toContain('events:PutEvents');
    const sends = policyStatementsOf(template, 'ConsumerFunction').filter((statement) =>
      [statement.Action].flat().includes('sqs:SendMessage'),
    );
    expect(sends).toEqual([
      {
        Effect: 'Allow',
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Resource: importOf('DeadLetterQueue.*Arn'),
      },
    ]);
    expect(environmentOf('ConsumerFunction')).toMatchObject({
      DLQ_URL: importOf('OutputRefMessagingDeadLetterQueue'),
    });
  });

  it('gives the HTTP functions, housekeeping and migrations nothing beyond database secrets', () => {
    for (const prefix of ['Charge', 'GetCharge', 'Health', 'Housekeeping', 'Migrate']) {
      expect([...new Set(actionsOf(template, `${prefix}Function`))].sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
    }
  });
});

describe('migrations on deploy', () => {
  it('runs the migrate function synchronously, again whenever its bundle changes', () => {
    const [migrateId] = resourceNamed(template, 'AWS::Lambda::Function', 'MigrateFunction');
    const [versionId] = resourceNamed(
      template,
      'AWS::Lambda::Version',
      'MigrateFunctionCurrentVersion',
    );
    template.hasResourceProperties('AWS::Lambda::Version', { FunctionName: { Ref: migrateId } });
    template.hasResourceProperties('Custom::Trigger', {
      HandlerArn: { Ref: versionId },
      InvocationType: 'RequestResponse',
      ExecuteOnHandlerChange: true,
    });
  });

  it('finishes before any function that needs the schema, the API, the schedules or the consumer can touch it', () => {
    const [triggerId] = resourceNamed(template, 'Custom::Trigger', 'MigrateOnDeploy');
    for (const [type, prefix] of [
      ['AWS::ApiGateway::Stage', 'ApiDeploymentStage'],
      ['AWS::ApiGateway::Method', 'ApichargePOST'],
      ['AWS::Events::Rule', 'RelaySchedule'],
      ['AWS::Events::Rule', 'HousekeepingSchedule'],
      ['AWS::Lambda::EventSourceMapping', 'ConsumerFunctionSqsEventSource'],
      ...['Charge', 'GetCharge', 'Health', 'Relay', 'Consumer', 'Housekeeping'].map(
        (name) => ['AWS::Lambda::Function', `${name}Function`] as const,
      ),
    ] as const) {
      const [, resource] = resourceNamed(template, type, prefix);
      expect(resource.DependsOn, `${prefix} waits for migrations`).toContain(triggerId);
    }
  });
});
