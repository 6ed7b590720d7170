import { CfnOutput, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { z } from 'zod';
import { chargeRequestSchema } from '../../functions/domain/charge.ts';
import { managedPolicyFinding } from './payments-function.ts';

export interface PaymentsApiProps {
  readonly chargeFunction: lambda.IFunction;
  readonly getChargeFunction: lambda.IFunction;
  readonly healthFunction: lambda.IFunction;
  /** Usage-plan throttling per API key. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

const PROBLEM_CONTENT_TYPE = "'application/problem+json'";

/**
 * API Gateway's own answers (before or instead of a function), as RFC 9457 problems shaped
 * like the functions' ones: same `type` slugs, `application/problem+json`. Gateway-response
 * templates are not VTL, so only `$context` values that are already JSON-safe are used.
 */
const GATEWAY_PROBLEMS: {
  type: apigateway.ResponseType;
  status?: number;
  slug: string;
  title: string;
  headers?: Record<string, string>;
}[] = [
  {
    type: apigateway.ResponseType.BAD_REQUEST_BODY,
    status: 400,
    slug: 'invalid-charge-request',
    title: 'The charge request is not valid',
  },
  // The only required parameter is the Idempotency-Key header (path ids are always present).
  {
    type: apigateway.ResponseType.BAD_REQUEST_PARAMETERS,
    status: 400,
    slug: 'invalid-idempotency-key',
    title: 'The Idempotency-Key header is missing or malformed',
  },
  {
    type: apigateway.ResponseType.UNAUTHORIZED,
    status: 401,
    slug: 'unauthenticated',
    title: 'No API key',
  },
  {
    type: apigateway.ResponseType.ACCESS_DENIED,
    status: 403,
    slug: 'forbidden',
    title: 'Access denied',
  },
  // API Gateway answers both a missing and an unknown x-api-key with this type.
  {
    type: apigateway.ResponseType.INVALID_API_KEY,
    status: 403,
    slug: 'forbidden',
    title: 'The API key is missing or not valid',
  },
  // Without IAM authorization, this type means no such route: 404, not the default 403.
  {
    type: apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    status: 404,
    slug: 'not-found',
    title: 'Not found',
  },
  {
    type: apigateway.ResponseType.RESOURCE_NOT_FOUND,
    status: 404,
    slug: 'not-found',
    title: 'Not found',
  },
  {
    type: apigateway.ResponseType.REQUEST_TOO_LARGE,
    status: 413,
    slug: 'payload-too-large',
    title: 'The body is too large',
  },
  {
    type: apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE,
    status: 415,
    slug: 'unsupported-media-type',
    title: 'Unsupported content type',
  },
  {
    type: apigateway.ResponseType.THROTTLED,
    status: 429,
    slug: 'throttled',
    title: 'Too many requests',
    headers: { 'Retry-After': "'1'" },
  },
  {
    type: apigateway.ResponseType.QUOTA_EXCEEDED,
    status: 429,
    slug: 'quota-exceeded',
    title: 'The API key has used its quota',
  },
  {
    type: apigateway.ResponseType.INTEGRATION_TIMEOUT,
    status: 504,
    slug: 'upstream-timeout',
    title: 'The request timed out; it is safe to retry with the same Idempotency-Key',
  },
  {
    type: apigateway.ResponseType.DEFAULT_4XX,
    slug: 'bad-request',
    title: 'The request was rejected',
  },
  { type: apigateway.ResponseType.DEFAULT_5XX, slug: 'internal-error', title: 'Internal error' },
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
    for (const problem of GATEWAY_PROBLEMS) {
      this.api.addGatewayResponse(`Problem${problem.type.responseType}`, {
        type: problem.type,
        statusCode: problem.status === undefined ? undefined : String(problem.status),
        responseHeaders: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...problem.headers },
        templates: { 'application/json': problemTemplate(problem) },
      });
    }

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

    this.api.root.addResource('charge').addMethod('POST', integration(props.chargeFunction), {
      apiKeyRequired: true,
      requestValidator: validateBodyAndParameters,
      requestModels: { 'application/json': chargeModel },
      requestParameters: { 'method.request.header.Idempotency-Key': true },
    });
    this.api.root
      .addResource('charges')
      .addResource('{id}')
      .addMethod('GET', integration(props.getChargeFunction), {
        apiKeyRequired: true,
        requestValidator: validateParameters,
        requestParameters: { 'method.request.path.id': true },
      });
    const healthMethod = this.api.root
      .addResource('health')
      .addMethod('GET', integration(props.healthFunction), { apiKeyRequired: false });

    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: 'Per-client throttling of the payments API',
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.defaultApiKey = this.api.addApiKey('DefaultClientKey', {
      description: 'The first client of the payments API',
    });
    this.usagePlan.addApiKey(this.defaultApiKey);

    new CfnOutput(this, 'Url', { value: this.api.url });
    new CfnOutput(this, 'DefaultApiKeyId', {
      value: this.defaultApiKey.keyId,
      description: 'aws apigateway get-api-key --include-value --api-key <id>',
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
    const apiKeyReason =
      'Clients authenticate with an API key (x-api-key) in a usage plan; the key id is the ' +
      'client that owns idempotency keys and charges (SPEC: a key belongs to the calling client).';
    for (const method of this.api.methods) {
      const reason = method === healthMethod ? 'GET /health is public by design.' : apiKeyReason;
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

function problemTemplate(problem: (typeof GATEWAY_PROBLEMS)[number]): string {
  return JSON.stringify({
    type: `/problems/${problem.slug}`,
    title: problem.title,
    ...(problem.status === undefined ? {} : { status: problem.status }),
    detail: '@@MESSAGE@@',
    requestId: '$context.requestId',
  }).replace('"@@MESSAGE@@"', '$context.error.messageString');
}

function accessLogFormat(): apigateway.AccessLogFormat {
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTimeEpoch',
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
