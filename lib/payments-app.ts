import type { App } from 'aws-cdk-lib';
import type { PaymentsConfig } from './config.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

export interface PaymentsStacks {
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

/**
 * The two stacks of the service, environment-agnostic (account and region come from the CLI's
 * credentials at deploy time), so synth needs no lookups and works offline.
 */
export function definePaymentsApp(app: App, config: PaymentsConfig): PaymentsStacks {
  const stateful = new StatefulStack(app, 'PaymentsStateful', {
    description: 'Effectively-once payments: network, Aurora PostgreSQL, queues, event bus',
    config,
  });
  const stateless = new StatelessStack(app, 'PaymentsStateless', {
    description: 'Effectively-once payments: functions, API, relay, consumer, alarms',
    config,
    stateful: stateful.resources,
  });
  return { stateful, stateless };
}
