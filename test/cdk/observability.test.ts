import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { MetricName } from '../../primitives/metric-names.ts';
import { resourceNamed, synthPayments } from './support/synth-payments.ts';

const { statelessTemplate: template } = synthPayments({
  attemptThreeAlarmThreshold: 25,
  alarmEmail: 'oncall@example.com',
});

const alarm = (prefix: string) =>
  resourceNamed(template, 'AWS::CloudWatch::Alarm', prefix)[1].Properties;
const paymentsMetric = (name: string, dimensions: Record<string, string> = {}) => ({
  Namespace: 'EffectivelyOncePayments',
  MetricName: name,
  Dimensions: Object.entries({ ...dimensions, service: 'payments' })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Name, Value]) => ({ Name, Value })),
});

describe('alarms', () => {
  it('pages when Idempotency-Key mismatches exceed 0.1 % of at least 1,000 POSTs', () => {
    const properties = alarm('ObservabilityMismatchRatioAlarm');
    expect(properties).toMatchObject({
      Threshold: 0.1,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const metrics = properties.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData: boolean;
      MetricStat?: { Metric: unknown; Stat: string };
    }[];
    const expression = metrics.find((metric) => metric.ReturnData)?.Expression ?? '';
    const posts = '(new + replay + in_flight + mismatch)';
    expect(expression.replace(/FILL\((\w+), 0\)/g, '$1')).toBe(
      `IF(${posts} >= 1000, 100 * mismatch / ${posts}, 0)`,
    );
    for (const outcome of ['new', 'replay', 'in_flight', 'mismatch']) {
      expect(metrics.find((metric) => metric.Id === outcome)?.MetricStat).toMatchObject({
        Metric: paymentsMetric('idempotency_key_total', { outcome }),
        Stat: 'Sum',
      });
    }
  });

  it('pages when the oldest unpublished outbox row is older than 30 s, or the relay stops reporting', () => {
    expect(alarm('ObservabilityOutboxLagAlarm')).toMatchObject({
      ...paymentsMetric('outbox_lag_seconds'),
      Statistic: 'Maximum',
      Threshold: 30,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('pages on every increase of the dead-letter queue, not once while it stays non-empty', () => {
    const properties = alarm('ObservabilityDeadLetterQueueAlarm');
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    const metrics = properties.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData: boolean;
      MetricStat?: { Metric: Record<string, unknown>; Stat: string };
    }[];
    const expression = metrics.find((metric) => metric.ReturnData)?.Expression;
    const depth = metrics.find((metric) => metric.MetricStat);
    expect(expression).toBe(`DIFF(${depth?.Id})`);
    expect(depth?.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::ImportValue': expect.stringMatching(/DeadLetterQueue.*QueueName/) },
          },
        ],
      },
      Stat: 'Maximum',
    });
    expect(properties.OKActions).toEqual(properties.AlarmActions);
  });

  it('pages on a surge of third attempts only when it is both above the learned band and above the floor', () => {
    const baseline = alarm('ObservabilityAttemptThreeAboveBaseline');
    expect(baseline).toMatchObject({
      ComparisonOperator: 'GreaterThanUpperThreshold',
      ThresholdMetricId: expect.any(String),
    });
    const metrics = baseline.Metrics as { Expression?: string; MetricStat?: { Metric: unknown } }[];
    expect(
      metrics.some((metric) => /^ANOMALY_DETECTION_BAND\(\w+, ?3\)$/.test(metric.Expression ?? '')),
    ).toBe(true);
    expect(metrics.find((metric) => metric.MetricStat)?.MetricStat?.Metric).toEqual(
      paymentsMetric('retry_attempt_total', { attempt: '3' }),
    );
    expect(alarm('ObservabilityAttemptThreeAboveFloor')).toMatchObject({
      ...paymentsMetric('retry_attempt_total', { attempt: '3' }),
      Threshold: 25,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const [baselineId] = resourceNamed(
      template,
      'AWS::CloudWatch::Alarm',
      'ObservabilityAttemptThreeAboveBaseline',
    );
    const [floorId] = resourceNamed(
      template,
      'AWS::CloudWatch::Alarm',
      'ObservabilityAttemptThreeAboveFloor',
    );
    const [, composite] = resourceNamed(
      template,
      'AWS::CloudWatch::CompositeAlarm',
      'ObservabilityAttemptThreeSurge',
    );
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    expect(rule).toContain(baselineId);
    expect(rule).toContain(floorId);
    expect(rule).toContain(' AND ');
  });

  it('notifies one encrypted SNS topic of every paging alarm, and on-call by email', () => {
    const [topicId, topic] = resourceNamed(template, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic');
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    const paging = [
      alarm('ObservabilityMismatchRatioAlarm'),
      alarm('ObservabilityOutboxLagAlarm'),
      alarm('ObservabilityDeadLetterQueueAlarm'),
      resourceNamed(
        template,
        'AWS::CloudWatch::CompositeAlarm',
        'ObservabilityAttemptThreeSurge',
      )[1].Properties,
    ];
    for (const properties of paging) {
      expect(properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topicId },
    });
    // The child alarms of the composite page only through it.
    expect(alarm('ObservabilityAttemptThreeAboveFloor').AlarmActions).toBeUndefined();
  });

  it('lets CloudWatch use the topic key, or encrypted notifications would be dropped', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });
});

describe('dashboard', () => {
  const [, dashboard] = resourceNamed(
    template,
    'AWS::CloudWatch::Dashboard',
    'ObservabilityDashboard',
  );
  const body = JSON.stringify(dashboard.Properties.DashboardBody);

  it.each(Object.values(MetricName))('graphs %s', (name) => {
    expect(body).toContain(name);
  });

  it('graphs every idempotency outcome, attempt and HTTP class as its own line', () => {
    for (const label of [
      '\\"outcome\\",\\"new',
      '\\"outcome\\",\\"in_flight',
      '\\"attempt\\",\\"4+',
      '\\"class\\",\\"5xx',
      'timeout (gateway 5xx not answered by the function)',
    ]) {
      expect(body).toContain(label);
    }
  });

  it('shows the retry-delay percentiles that reveal missing jitter', () => {
    for (const stat of ['p10', 'p50', 'p90', 'p99']) expect(body).toContain(`"stat\\":\\"${stat}`);
  });

  it('compares charges created with ledger postings applied', () => {
    expect(body).toMatch(/Side effects = operations.*charge_created_total.*ledger_applied_total/);
  });
});
