import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../lib/config.ts';
import { definePaymentsApp } from '../../lib/payments-app.ts';
import { synthPayments } from './support/synth-payments.ts';

/**
 * cdk-nag 3 is a CDK validation plugin, not an Aspect: its findings are a validation report,
 * not stack annotations (Annotations.findError would find nothing either way), and synth fails
 * on any unacknowledged error. `validateScope` returns that report.
 */
describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['the default deployment', {}],
    ['the hot tier switched on', { hotTier: true }],
    ['a disposable sandbox without deletion protection', { deletionProtection: false }],
  ])('finds no unacknowledged error in %s', (_name, overrides) => {
    // synthPayments has already synthesized with the plugin, which throws on an error.
    const { app, nag } = synthPayments(overrides);
    const report = nag.validateScope(app);
    expect(report.violations.filter((violation) => violation.severity === 'error')).toEqual([]);
    // No warnings either: each exception is acknowledged, with its reason, where it arises.
    expect(report.violations).toEqual([]);
  });

  it('fails synth when a finding is not acknowledged', () => {
    const app = new App();
    definePaymentsApp(app, { ...DEFAULT_CONFIG, bundle: 'none' });
    // Strip every acknowledgement: the IAM4 and API findings must then surface.
    const nag = new AwsSolutionsChecks(app);
    Validations.of(app).addPlugins(nag);
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          (entry as { data: unknown }).data = {};
        }
      }
    }
    const ruleNames = nag.validateScope(app).violations.map((violation) => violation.ruleName);
    expect(ruleNames).toEqual(
      expect.arrayContaining(['AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-APIG3']),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-APIG4/);
  });
});
