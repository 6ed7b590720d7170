import { CfnResource, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';

export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/**
 * Gives a log group with a retention to every Lambda function in `stack` that has none of its
 * own (CDK's providers, such as the Trigger's), and to API Gateway's execution logs: a group a
 * service creates on first use never expires. Call once everything else is defined.
 */
export function expireEveryLogGroup(stack: Stack, restApis: apigateway.RestApi[] = []): void {
  const functions = stack.node
    .findAll()
    .filter(
      (node): node is CfnResource =>
        CfnResource.isCfnResource(node) &&
        node.cfnResourceType === 'AWS::Lambda::Function' &&
        !hasLogGroup(stack, node),
    );
  for (const fn of functions) {
    const group = new logs.LogGroup(fn.node.scope ?? stack, `${fn.node.id}Logs`, {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    fn.addPropertyOverride('LoggingConfig.LogGroup', group.logGroupName);
  }
  for (const api of restApis) {
    const stage = api.deploymentStage;
    // The literal name (the L2's stageName is a reference to the stage itself: a cycle).
    const stageName = (stage.node.defaultChild as apigateway.CfnStage).stageName;
    // Created before the stage, so API Gateway finds it instead of creating one without expiry.
    const group = new logs.LogGroup(api, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${stageName}`,
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    stage.node.addDependency(group);
  }
}

/**
 * Our functions (lambda.Function, an L1 CfnFunction) set loggingConfig; CDK's own providers
 * (CustomResourceProvider) are plain CfnResources and never do.
 */
function hasLogGroup(_stack: Stack, fn: CfnResource): boolean {
  return fn instanceof lambda.CfnFunction && fn.loggingConfig !== undefined;
}
