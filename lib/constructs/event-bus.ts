import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

/**
 * The bus other teams subscribe to for charge events, fed by the relay beside the queue.
 * Its archive keeps every event for 30 days so a new subscriber, or one recovering from a
 * bug, can replay history instead of asking for a backfill.
 */
export class ChargeEventBus extends Construct {
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      description: 'Charge events published from the payments outbox',
    });
    // Subscribers' rules and the archive's history are kept if the stack is deleted.
    this.bus.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.bus
      .archive('Archive', {
        description: 'Every charge event, for replay',
        eventPattern: { account: [Aws.ACCOUNT_ID] },
        retention: Duration.days(30),
      })
      .applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
