import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../lib/config.ts';
import { definePaymentsApp } from '../lib/payments-app.ts';

const app = new App();
definePaymentsApp(app, readConfig(app.node));
// Every resource is checked against the AWS Solutions rules at synth (cdk-nag 3 is a CDK
// validation plugin: a finding fails synth); each exception is acknowledged beside the
// construct it concerns, with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
