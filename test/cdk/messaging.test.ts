import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RELAY_SETTINGS } from '../../functions/relay/relay-settings.ts';
import { readConfig } from '../../lib/config.ts';
import { resourceNamed, resourcesOf, synthPayments } from './support/synth-payments.ts';

const { statefulTemplate, statelessTemplate } = synthPayments();

describe('charge-event queues', () => {
  it('deduplicates only by the relay-assigned event id: FIFO, content-based dedup off', () => {
    const [, queue] = resourceNamed(statefulTemplate, 'AWS::SQS::Queue', 'MessagingChargeEvents');
    expect(queue.Properties).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false });
  });

  it('moves a poison message to a FIFO dead-letter queue after three receives', () => {
    const [dlqId, dlq] = resourceNamed(statefulTemplate, 'AWS::SQS::Queue', 'MessagingDeadLetter');
    expect(dlq.Properties).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false });
    statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 },
    });
  });

  it('takes maxReceiveCount from context', () => {
    const app = new App({ context: { maxReceiveCount: '5' } });
    const { statefulTemplate: template } = synthPayments({
      ...readConfig(app.node),
      bundle: 'none',
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
  });

  it('hides a received message for at least six consumer timeouts, so a slow batch is not redelivered mid-flight', () => {
    const [, consumer] = resourceNamed(
      statelessTemplate,
      'AWS::Lambda::Function',
      'ConsumerFunction',
    );
    const [, queue] = resourceNamed(statefulTemplate, 'AWS::SQS::Queue', 'MessagingChargeEvents');
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * (consumer.Properties.Timeout as number),
    );
  });

  it('encrypts both queues at rest and refuses requests without TLS', () => {
    for (const queue of Object.values(resourcesOf(statefulTemplate, 'AWS::SQS::Queue'))) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    const policies = Object.values(resourcesOf(statefulTemplate, 'AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument).toMatchObject({
        Statement: expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      });
    }
  });
});

describe('consumer event source', () => {
  it('reads batches of ten, reports partial batch failures and caps concurrency at five', () => {
    const [consumerId] = resourceNamed(
      statelessTemplate,
      'AWS::Lambda::Function',
      'ConsumerFunction',
    );
    statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: consumerId },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('ChargeEventsQueue.*Arn') },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });
});

describe('relay schedule', () => {
  it('runs the relay every minute without async retries that would overlap runs', () => {
    const [relayId] = resourceNamed(statelessTemplate, 'AWS::Lambda::Function', 'RelayFunction');
    statelessTemplate.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [relayId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
    statelessTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: relayId },
      MaximumRetryAttempts: 0,
    });
  });

  it('runs one relay at a time, draining for its whole timeout, and drops a throttled tick after a minute', () => {
    const [relayId, relay] = resourceNamed(
      statelessTemplate,
      'AWS::Lambda::Function',
      'RelayFunction',
    );
    expect(relay.Properties.Timeout).toBe(RELAY_SETTINGS.timeoutSeconds);
    expect(relay.Properties.ReservedConcurrentExecutions).toBe(1);
    statelessTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: relayId },
      MaximumEventAgeInSeconds: 60,
    });
  });
});

describe('reconciliation', () => {
  it('runs every minute and pages when charges stay unapplied for two minutes running', () => {
    const [functionId, fn] = resourceNamed(
      statelessTemplate,
      'AWS::Lambda::Function',
      'ReconciliationFunction',
    );
    expect(fn.Properties).toMatchObject({
      Environment: { Variables: { RECONCILE_AFTER_SECONDS: '300' } },
    });
    statelessTemplate.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId, 'Arn'] } })],
    });
    statelessTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'unapplied_charges',
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [Match.anyValue()],
    });
  });
});

describe('event bus', () => {
  it('archives every charge event for 30 days so subscribers can replay', () => {
    const [busId] = resourceNamed(statefulTemplate, 'AWS::Events::EventBus', 'ChargeEventsBus');
    statefulTemplate.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
      RetentionDays: 30,
    });
  });
});
