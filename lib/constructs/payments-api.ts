import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { z } from 'zod';
import { AUTHORIZER_CACHE_TTL_SECONDS } from '../../functions/authorizer/authorize-request.ts';
import {
  PROBLEMS,
  type ProblemType,
  problemExplanation,
  problemTypeUri,
} from '../../functions/commons/http/problem-catalogue.ts';
import { chargeRequestSchema } from '../../functions/domain/charge.ts';
import { managedPolicyFinding } from './payments-function.ts';

export interface PaymentsApiProps {
  readonly chargeFunction: lambda.IFunction;
  readonly getChargeFunction: lambda.IFunction;
  readonly healthFunction: lambda.IFunction;
  /** The REQUEST authorizer resolving x-api-key to a client (functions/authorizer). */
  readonly authorizerFunction: lambda.IFunction;
  /** Usage-plan throttling per client (the usage key the authorizer returns). */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

const PROBLEM_CONTENT_TYPE = "'application/problem+json'";

/**
 * API Gateway's own answers (before or instead of a function), from the one problem
 * catalogue the handlers and the local gateway answer from: same type, title and status.
 * A type without a status keeps the one API Gateway chose (DEFAULT_4XX/5XX: a Lambda
 * failure is 502 there, as locally).
 */
export const GATEWAY_PROBLEMS: {
  type: apigateway.ResponseType;
  problem: ProblemType;
  keepStatus?: true;
  headers?: Record<string, string>;
}[] = [
  { type: apigateway.ResponseType.BAD_REQUEST_BODY, problem: PROBLEMS.invalidChargeRequest },
  // The only required parameter is the Idempotency-Key header (path ids are always present).
  { type: apigateway.ResponseType.BAD_REQUEST_PARAMETERS, problem: PROBLEMS.invalidIdempotencyKey },
  // No x-api-key (the authorizer's identity source) or the authorizer said Unauthorized.
  { type: apigateway.ResponseType.UNAUTHORIZED, problem: PROBLEMS.unauthenticated },
  // The authorizer's Deny: an unknown, revoked or expired key.
  { type: apigateway.ResponseType.ACCESS_DENIED, problem: PROBLEMS.forbidden },
  // The usage key the authorizer returned is not in the usage plan.
  { type: apigateway.ResponseType.INVALID_API_KEY, problem: PROBLEMS.forbidden },
  { type: apigateway.ResponseType.AUTHORIZER_FAILURE, problem: PROBLEMS.internalError },
  {
    type: apigateway.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
    problem: PROBLEMS.internalError,
  },
  // Without IAM authorization, this type means no such resource or method: 404, not 403.
  { type: apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, problem: PROBLEMS.notFound },
  { type: apigateway.ResponseType.RESOURCE_NOT_FOUND, problem: PROBLEMS.notFound },
  { type: apigateway.ResponseType.REQUEST_TOO_LARGE, problem: PROBLEMS.payloadTooLarge },
  { type: apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE, problem: PROBLEMS.unsupportedMediaType },
  {
    type: apigateway.ResponseType.THROTTLED,
    problem: PROBLEMS.throttled,
    headers: { 'Retry-After': "'1'" },
  },
  { type: apigateway.ResponseType.QUOTA_EXCEEDED, problem: PROBLEMS.quotaExceeded },
  { type: apigateway.ResponseType.INTEGRATION_TIMEOUT, problem: PROBLEMS.upstreamTimeout },
  { type: apigateway.ResponseType.DEFAULT_4XX, problem: PROBLEMS.badRequest, keepStatus: true },
  { type: apigateway.ResponseType.DEFAULT_5XX, problem: PROBLEMS.internalError, keepStatus: true },
];

/**
 * The REST API: `POST /charge` and `GET /charges/{id}` need an API key (whose id is the
 * client that idempotency keys and charges belong to), `GET /health` does not. API Gateway
 * rejects malformed requests before they cost an invocation; the functions validate again.
 */
export class PaymentsApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly usagePlan: apigateway.UsagePlan;
  readonly defaultApiKey: apigateway.IApiKey;

  constructor(scope: Construct, id: string, props: PaymentsApiProps) {
    super(scope, id);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'Effectively-once payments: POST /charge',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // Usage-plan throttling keys on what the authorizer returns (the client's usage key),
      // not on a header the client sends: the client's only credential is its secret.
      apiKeySourceType: apigateway.ApiKeySourceType.AUTHORIZER,
      cloudWatchRole: true,
      deployOptions: {
        stageName: 'v1',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: accessLogFormat(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        methodOptions: {
          // Unauthenticated, and it touches the database: keep it from becoming a lever.
          '/health/GET': { throttlingRateLimit: 10, throttlingBurstLimit: 20 },
        },
      },
    });
    for (const response of GATEWAY_PROBLEMS) {
      this.api.addGatewayResponse(`Problem${response.type.responseType}`, {
        type: response.type,
        statusCode: response.keepStatus ? undefined : String(response.problem.status),
        responseHeaders: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...response.headers },
        templates: { 'application/json': problemTemplate(response) },
      });
    }
    // The client is whoever owns the secret in x-api-key (functions/authorizer); the answer is
    // cached per key for the TTL, which bounds how long a revoked key keeps working.
    const authorizer = new apigateway.RequestAuthorizer(this, 'ClientKeyAuthorizer', {
      handler: props.authorizerFunction,
      identitySources: [apigateway.IdentitySource.header('x-api-key')],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_TTL_SECONDS),
    });

    const chargeModel = this.api.addModel('ChargeRequestModel', {
      contentType: 'application/json',
      modelName: 'ChargeRequest',
      description: 'POST /charge body, generated from the domain schema',
      schema: chargeRequestJsonSchema(),
    });
    const validateBodyAndParameters = this.api.addRequestValidator('BodyAndParameters', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const validateParameters = this.api.addRequestValidator('Parameters', {
      validateRequestParameters: true,
    });
    const integration = (fn: lambda.IFunction) =>
      new apigateway.LambdaIntegration(fn, { allowTestInvoke: false });

    const byClient = {
      authorizer,
      authorizationType: apigateway.AuthorizationType.CUSTOM,
      apiKeyRequired: true,
    };
    this.api.root.addResource('charge').addMethod('POST', integration(props.chargeFunction), {
      ...byClient,
      requestValidator: validateBodyAndParameters,
      requestModels: { 'application/json': chargeModel },
      requestParameters: { 'method.request.header.Idempotency-Key': true },
    });
    this.api.root
      .addResource('charges')
      .addResource('{id}')
      .addMethod('GET', integration(props.getChargeFunction), {
        ...byClient,
        requestValidator: validateParameters,
        requestParameters: { 'method.request.path.id': true },
      });
    const healthMethod = this.api.root
      .addResource('health')
      .addMethod('GET', integration(props.healthFunction), { apiKeyRequired: false });

    const explanations = addProblemExplanations(this.api.root.addResource('problems'));

    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: 'Per-client throttling of the payments API',
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    // The usage key of the first client: `npm run clients -- create` (or the ClientsFunction)
    // stores its value with the client (docs/RUNBOOK.md). Clients never send it.
    this.defaultApiKey = this.api.addApiKey('DefaultClientKey', {
      description: 'Usage-plan key of the first client (returned by the authorizer)',
    });
    this.usagePlan.addApiKey(this.defaultApiKey);

    new CfnOutput(this, 'Url', { value: this.api.url });
    new CfnOutput(this, 'DefaultApiKeyId', {
      value: this.defaultApiKey.keyId,
      description:
        "The first client's usage key: aws apigateway get-api-key --include-value --api-key <id>",
    });

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Sandbox reference deployment: API keys with usage-plan throttling bound abuse; attach ' +
          'a WAFv2 web ACL to the stage in production.',
      },
      {
        id: managedPolicyFinding('AmazonAPIGatewayPushToCloudWatchLogs'),
        reason:
          'The AWS-maintained policy of the account-level role API Gateway needs to write ' +
          'execution logs.',
      },
    );
    const authorizerReason =
      'Clients authenticate with a secret key checked by a Lambda REQUEST authorizer, which ' +
      'names the client that owns idempotency keys and charges; not a Cognito user pool.';
    for (const method of this.api.methods) {
      const reason =
        method === healthMethod
          ? 'GET /health is public by design.'
          : explanations.includes(method)
            ? 'Problem type explanations are public documentation (a mock integration).'
            : authorizerReason;
      Validations.of(method).acknowledge(
        { id: 'AwsSolutions-APIG4', reason },
        { id: 'AwsSolutions-COG4', reason },
      );
    }
  }
}

/** The domain's zod schema as the draft-4 JSON schema API Gateway validates bodies with. */
export function chargeRequestJsonSchema(): apigateway.JsonSchema {
  const { $schema: _draft, ...schema } = z.toJSONSchema(chargeRequestSchema, {
    target: 'draft-4',
  });
  return {
    schema: apigateway.JsonSchemaVersion.DRAFT4,
    title: 'ChargeRequest',
    ...schema,
  } as apigateway.JsonSchema;
}

function problemTemplate(response: (typeof GATEWAY_PROBLEMS)[number]): string {
  const { problem } = response;
  return JSON.stringify({
    type: problemTypeUri(problem),
    title: problem.title,
    ...(response.keepStatus ? {} : { status: problem.status }),
    detail: '@@MESSAGE@@',
    requestId: '$context.requestId',
  }).replace('"@@MESSAGE@@"', '$context.error.messageString');
}

/**
 * GET /problems/{slug}: where each problem type URI leads, a short explanation from the
 * catalogue, served by API Gateway itself (mock integrations: no function, no key).
 */
function addProblemExplanations(problems: apigateway.IResource): apigateway.Method[] {
  const unique = new Map(Object.values(PROBLEMS).map((problem) => [problem.slug, problem]));
  return [...unique.values()].map((problem) =>
    problems.addResource(problem.slug).addMethod(
      'GET',
      new apigateway.MockIntegration({
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
        integrationResponses: [
          {
            statusCode: '200',
            responseParameters: {
              'method.response.header.Content-Type': "'text/plain; charset=utf-8'",
            },
            responseTemplates: { 'application/json': problemExplanation(problem) },
          },
        ],
      }),
      {
        apiKeyRequired: false,
        methodResponses: [
          {
            statusCode: '200',
            responseParameters: { 'method.response.header.Content-Type': true },
          },
        ],
      },
    ),
  );
}

function accessLogFormat(): apigateway.AccessLogFormat {
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTimeEpoch',
      clientId: '$context.authorizer.clientId',
      apiKeyId: '$context.identity.apiKeyId',
      sourceIp: '$context.identity.sourceIp',
      httpMethod: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationStatus: '$context.integration.status',
      integrationLatency: '$context.integration.latency',
      errorType: '$context.error.responseType',
      errorMessage: '$context.error.message',
    }),
  );
}
