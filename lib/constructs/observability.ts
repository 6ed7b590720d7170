import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CLIENT_SERVICE_NAME,
  HOUSEKEEPING_TABLES,
  IDEMPOTENCY_OUTCOMES,
  METRIC_NAMESPACE,
  MetricName,
  RETRY_ATTEMPTS,
  SERVER_OUTCOME_CLASSES,
  SERVICE_NAME,
} from '../../primitives/metric-names.ts';

/** Mismatched keys, as a percentage of POSTs with a key, above which on-call is paged. */
export const MISMATCH_PERCENT_THRESHOLD = 0.1;
/**
 * POSTs per 5 minutes below which the mismatch share does not page: one mismatch among a few
 * hundred requests is one client's bug report, not an incident.
 */
export const MISMATCH_MINIMUM_POSTS = 1000;
/** Age of the oldest unpublished outbox row, in seconds, above which on-call is paged. */
export const OUTBOX_LAG_THRESHOLD_SECONDS = 30;

export interface ObservabilityProps {
  readonly deadLetterQueue: sqs.IQueue;
  /** Its 5XXError counts the requests the function never answered (timeouts, crashes). */
  readonly api: apigateway.RestApi;
  /** retry_attempt_total{attempt=3} per 5 minutes below which a surge does not page. */
  readonly attemptThreeAlarmThreshold: number;
  readonly alarmEmail?: string;
}

/** A payments metric as the handlers emit it: `service=payments` plus its labels. */
export function paymentsMetric(
  name: MetricName,
  labels: Record<string, string> = {},
  options: cloudwatch.MetricOptions = {},
  service: string = SERVICE_NAME,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { service, ...labels },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(1),
    ...options,
  });
}

/**
 * The on-call view of SPEC "Metrics": a dashboard with every SPEC metric, and alarms on the
 * four signals that mean money or messages are at risk, notifying one SNS topic.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly mismatchAlarm: cloudwatch.Alarm;
  readonly attemptThreeSurgeAlarm: cloudwatch.CompositeAlarm;
  readonly outboxLagAlarm: cloudwatch.Alarm;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);

    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the payments alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to an encrypted topic only if they may use its key.
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Payments alarms',
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const notify = new actions.SnsAction(this.topic);

    const fiveMinutes = { period: Duration.minutes(5) };
    const outcome = (label: string, options: cloudwatch.MetricOptions = {}) =>
      paymentsMetric(MetricName.idempotencyKeyTotal, { outcome: label }, options);

    // FILL: a minute with POSTs but no mismatch must count as 0 %, not as missing data.
    const posts = '(FILL(new, 0) + FILL(replay, 0) + FILL(in_flight, 0) + FILL(mismatch, 0))';
    const mismatchPercent = new cloudwatch.MathExpression({
      expression: `100 * FILL(mismatch, 0) / ${posts}`,
      usingMetrics: {
        new: outcome('new', fiveMinutes),
        replay: outcome('replay', fiveMinutes),
        in_flight: outcome('in_flight', fiveMinutes),
        mismatch: outcome('mismatch', fiveMinutes),
      },
      period: Duration.minutes(5),
      label: 'Idempotency-Key mismatches (% of POSTs)',
    });
    // The share pages only above a volume floor; below it the expression is 0.
    const mismatchPercentAboveFloor = new cloudwatch.MathExpression({
      expression: `IF(${posts} >= ${MISMATCH_MINIMUM_POSTS}, 100 * FILL(mismatch, 0) / ${posts}, 0)`,
      usingMetrics: mismatchPercent.usingMetrics,
      period: Duration.minutes(5),
      label: `Idempotency-Key mismatches (% of POSTs, when >= ${MISMATCH_MINIMUM_POSTS} POSTs)`,
    });
    this.mismatchAlarm = mismatchPercentAboveFloor.createAlarm(this, 'MismatchRatioAlarm', {
      alarmDescription:
        `More than 0.1 % of at least ${MISMATCH_MINIMUM_POSTS} POST /charge in 5 minutes ` +
        'reused an Idempotency-Key with a different body: a client is generating keys wrongly ' +
        '(or reusing them across charges).',
      threshold: MISMATCH_PERCENT_THRESHOLD,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A surge of third attempts means something upstream is failing; it pages only when it is
    // both unusual (above the learned band) and material (above a floor), so a quiet night
    // with a single slow request does not wake anyone.
    const attemptThree = paymentsMetric(
      MetricName.retryAttemptTotal,
      { attempt: '3' },
      fiveMinutes,
    );
    const aboveBaseline = new cloudwatch.AnomalyDetectionAlarm(this, 'AttemptThreeAboveBaseline', {
      alarmDescription: 'retry_attempt_total{attempt=3} above its anomaly band',
      metric: attemptThree,
      stdDevs: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const aboveFloor = attemptThree.createAlarm(this, 'AttemptThreeAboveFloor', {
      alarmDescription: 'retry_attempt_total{attempt=3} above the paging floor',
      threshold: props.attemptThreeAlarmThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.attemptThreeSurgeAlarm = new cloudwatch.CompositeAlarm(this, 'AttemptThreeSurgeAlarm', {
      alarmDescription:
        'Clients are reaching a third attempt far more than usual: a dependency is failing and ' +
        'retries are piling up (check the retry budget and http_request_outcome).',
      alarmRule: cloudwatch.AlarmRule.allOf(aboveBaseline, aboveFloor),
    });

    const outboxLag = paymentsMetric(
      MetricName.outboxLagSeconds,
      {},
      {
        statistic: cloudwatch.Stats.MAXIMUM,
      },
    );
    this.outboxLagAlarm = outboxLag.createAlarm(this, 'OutboxLagAlarm', {
      alarmDescription:
        'The oldest unpublished outbox row is older than 30 s: the relay is down, throttled, or ' +
        'the queue is refusing messages. Charges are safe but the ledger is falling behind.',
      threshold: OUTBOX_LAG_THRESHOLD_SECONDS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // The relay reports the lag on every run; silence means it stopped running.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const deadLetterDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    // Alarms on growth, not on depth: a depth alarm stays in ALARM while the DLQ keeps filling
    // and never notifies again. The increase per minute is > 0 only in a minute the DLQ grew,
    // so the alarm returns to OK in between and every further dead-letter notifies anew.
    const deadLetterGrowth = new cloudwatch.MathExpression({
      expression: 'DIFF(depth)',
      usingMetrics: { depth: deadLetterDepth },
      period: Duration.minutes(1),
      label: 'DLQ messages added (per minute)',
    });
    this.deadLetterAlarm = deadLetterGrowth.createAlarm(this, 'DeadLetterQueueAlarm', {
      alarmDescription:
        'Charge events were dead-lettered this minute: the ledger could not apply them after ' +
        'every retry. Inspect them, fix the cause, then redrive; the inbox makes redrive safe. ' +
        'Notifies again on every further increase.',
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const alarm of [
      this.mismatchAlarm,
      this.attemptThreeSurgeAlarm,
      this.outboxLagAlarm,
      this.deadLetterAlarm,
    ]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // A fixed name on-call can find (README, RUNBOOK); one deployment per account/region.
      dashboardName: 'EffectivelyOncePayments',
      defaultInterval: Duration.hours(3),
    });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, ...extra });
    this.dashboard.addWidgets(
      graph(
        'POST /charge by idempotency outcome',
        IDEMPOTENCY_OUTCOMES.map((label) => outcome(label, { label })),
      ),
      graph('Mismatch % of POSTs', [mismatchPercent], {
        leftAnnotations: [{ value: MISMATCH_PERCENT_THRESHOLD, label: 'alarm' }],
      }),
    );
    this.dashboard.addWidgets(
      graph('Side effects = operations', [
        paymentsMetric(MetricName.chargeCreatedTotal, {}, { label: 'charges created' }),
        paymentsMetric(MetricName.ledgerAppliedTotal, {}, { label: 'ledger applied' }),
        paymentsMetric(MetricName.relayPublishedTotal, {}, { label: 'relay published' }),
        paymentsMetric(MetricName.inboxDuplicateTotal, {}, { label: 'inbox duplicates absorbed' }),
      ]),
      graph('POST /charge outcomes by class', [
        ...SERVER_OUTCOME_CLASSES.map((label) =>
          paymentsMetric(MetricName.httpRequestOutcome, { class: label }, { label }),
        ),
        // Requests the function never answered: API Gateway's 5xx beyond those it returned.
        new cloudwatch.MathExpression({
          expression: 'MAX([0, FILL(gateway5xx, 0) - FILL(function5xx, 0)])',
          usingMetrics: {
            gateway5xx: props.api.metricServerError({ period: Duration.minutes(1) }),
            function5xx: paymentsMetric(MetricName.httpRequestOutcome, { class: '5xx' }),
          },
          period: Duration.minutes(1),
          label: 'timeout (gateway 5xx not answered by the function)',
        }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Client attempts',
        RETRY_ATTEMPTS.map((label) =>
          paymentsMetric(MetricName.retryAttemptTotal, { attempt: label }, { label }),
        ),
        {
          right: [
            paymentsMetric(
              MetricName.retryBudgetExhaustedTotal,
              {},
              { label: 'budget exhausted (clients writing EMF)' },
              CLIENT_SERVICE_NAME,
            ),
          ],
        },
      ),
      // Percentiles close together and far apart at once (p10 near p90 of two clusters) is
      // the bimodal shape of retries without jitter.
      graph(
        'Retry delay (s), from clients writing EMF',
        ['p10', 'p50', 'p90', 'p99'].map((statistic) =>
          paymentsMetric(
            MetricName.retryDelaySeconds,
            {},
            { statistic, label: statistic },
            CLIENT_SERVICE_NAME,
          ),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph('Outbox lag (s)', [outboxLag], {
        leftAnnotations: [{ value: OUTBOX_LAG_THRESHOLD_SECONDS, label: 'alarm' }],
      }),
      graph('Dead-letter queue depth', [
        paymentsMetric(
          MetricName.deadLetterQueueDepth,
          {},
          {
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'reported by the relay',
          },
        ),
        deadLetterDepth.with({ label: 'SQS visible messages' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Housekeeping: rows purged per table',
        HOUSEKEEPING_TABLES.map((table) =>
          paymentsMetric(MetricName.housekeepingDeletedTotal, { table }, { label: table }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph('Idempotency hot tier by result', [
        new cloudwatch.MathExpression({
          // Whatever `result` labels the cache reports (hit, miss, error...), one line each.
          expression: `SEARCH('{${METRIC_NAMESPACE},service,result} MetricName="${MetricName.idempotencyCacheTotal}"', 'Sum', 60)`,
          label: '',
          period: Duration.minutes(1),
        }),
      ]),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        width: 12,
        height: 6,
        alarms: [
          this.mismatchAlarm,
          this.attemptThreeSurgeAlarm,
          this.outboxLagAlarm,
          this.deadLetterAlarm,
        ],
      }),
    );
  }
}
