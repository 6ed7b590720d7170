import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MetricName } from '../../primitives/metric-names.ts';
import type { DatabaseAccess } from './database.ts';
import { paymentsMetric } from './observability.ts';
import { type FunctionNetwork, PaymentsFunction } from './payments-function.ts';

/** How often the check runs. */
export const RECONCILIATION_SCHEDULE = Duration.minutes(1);
/** N: a charge still unapplied this long after it was made is counted and re-enqueued. */
export const RECONCILE_AFTER = Duration.minutes(5);

export interface ReconciliationProps {
  /** undefined (localstack profile): outside any VPC. */
  readonly network: FunctionNetwork | undefined;
  readonly bundled: boolean;
  readonly database: DatabaseAccess;
  /** Where the unapplied-charges alarm notifies (the stack's alarm topic). */
  readonly alarmTopic: sns.ITopic;
  /** The on-call dashboard: this adds a row for the charges at risk. */
  readonly dashboard: cloudwatch.Dashboard;
}

/**
 * The safety net behind relay → queue → consumer: a function on a schedule that counts the
 * charges the ledger has not applied N minutes after they were made (`unapplied_charges`,
 * emitted by the function) and re-enqueues their events, and an alarm on that gauge.
 */
export class Reconciliation extends Construct {
  readonly function: PaymentsFunction;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ReconciliationProps) {
    super(scope, id);
    this.function = new PaymentsFunction(this, 'Reconciliation', {
      name: 'reconciliation',
      description: 'Counts charges not applied to the ledger after N minutes and re-enqueues them',
      timeout: Duration.seconds(50),
      memorySize: 256,
      network: props.network,
      bundled: props.bundled,
      environment: { RECONCILE_AFTER_SECONDS: String(RECONCILE_AFTER.toSeconds()) },
      // The next run is the retry; a run that overlaps the next only re-reads the same rows.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    }).bindDatabase(props.database, 'payments_reconciliation');
    new events.Rule(this, 'Schedule', {
      description: 'Runs the unapplied-charge reconciliation every minute',
      schedule: events.Schedule.rate(RECONCILIATION_SCHEDULE),
      targets: [new targets.LambdaFunction(this.function.function, { retryAttempts: 0 })],
    });
    this.alarm = paymentsMetric(
      MetricName.unappliedCharges,
      {},
      { statistic: cloudwatch.Stats.MAXIMUM },
    ).createAlarm(this, 'UnappliedChargesAlarm', {
      alarmDescription:
        'Charges are not in the ledger 5 minutes after they were made, and re-enqueueing did not ' +
        'fix it within a minute: messages are being lost or the consumer cannot apply them.',
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // The function reports on every run; silence means the safety net is down.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const notify = new actions.SnsAction(props.alarmTopic);
    this.alarm.addAlarmAction(notify);
    this.alarm.addOkAction(notify);

    const graph = (title: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({ title, left: [metric], width: 8, height: 6 });
    props.dashboard.addWidgets(
      graph(
        'Unapplied charges after 5 min (reconciliation)',
        paymentsMetric(MetricName.unappliedCharges, {}, { statistic: cloudwatch.Stats.MAXIMUM }),
      ),
      graph(
        'Events re-enqueued by reconciliation',
        paymentsMetric(MetricName.reconciliationRequeuedTotal),
      ),
      graph(
        'Poison messages dead-lettered by the consumer',
        paymentsMetric(MetricName.poisonMessageTotal),
      ),
    );
  }
}
