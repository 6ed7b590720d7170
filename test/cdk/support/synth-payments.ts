import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type PaymentsConfig, readConfig } from '../../../lib/config.ts';
import { definePaymentsApp, type PaymentsStacks } from '../../../lib/payments-app.ts';

export interface SynthesizedPayments extends PaymentsStacks {
  app: App;
  config: PaymentsConfig;
  stateful: PaymentsStacks['stateful'];
  stateless: PaymentsStacks['stateless'];
  statefulTemplate: Template;
  statelessTemplate: Template;
  nag: AwsSolutionsChecks;
}

/**
 * The app as `bin/app.ts` builds it from `context` (cdk-nag included, so synth fails on an unacknowledged
 * finding), with bundling skipped unless `overrides.bundle` asks for it.
 */
export function synthPayments(
  overrides: Partial<PaymentsConfig> = {},
  context: Record<string, unknown> = {},
): SynthesizedPayments {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'payments-cdk-')), context });
  // Context is read as bin/app.ts reads it (profiles set their own defaults), then overridden.
  const config: PaymentsConfig = { ...readConfig(app.node), bundle: 'none', ...overrides };
  const stacks = definePaymentsApp(app, config);
  const nag = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(nag);
  return {
    app,
    config,
    ...stacks,
    statefulTemplate: Template.fromStack(stacks.stateful),
    statelessTemplate: Template.fromStack(stacks.stateless),
    nag,
  };
}

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/** The resources of `type` in `template`, by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

/** The single resource of `type` whose logical id starts with `prefix`. */
export function resourceNamed(
  template: Template,
  type: string,
  prefix: string,
): [string, Resource] {
  const matches = Object.entries(resourcesOf(template, type)).filter(([id]) =>
    id.startsWith(prefix),
  );
  if (matches.length !== 1) {
    throw new Error(`expected one ${type} named ${prefix}*, found ${matches.length}`);
  }
  return matches[0] as [string, Resource];
}

/** The payments functions (not CDK's own providers), keyed by logical id. */
export function paymentsFunctions(template: Template): Record<string, Resource> {
  return Object.fromEntries(
    Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).filter(
      ([, fn]) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables?.POWERTOOLS_SERVICE_NAME === 'payments',
    ),
  );
}

/** The statements of the inline policies attached to the role of the function `prefix`*. */
export function policyStatementsOf(
  template: Template,
  functionPrefix: string,
): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  const [, fn] = resourceNamed(template, 'AWS::Lambda::Function', functionPrefix);
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) =>
      (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId),
    )
    .flatMap(
      (policy) =>
        (policy.Properties.PolicyDocument as { Statement: never[] }).Statement as {
          Action: string | string[];
          Resource: unknown;
          Effect: string;
        }[],
    );
}

/** Every action granted to the function `prefix`*, flattened. */
export function actionsOf(template: Template, functionPrefix: string): string[] {
  return policyStatementsOf(template, functionPrefix).flatMap((statement) =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action],
  );
}
