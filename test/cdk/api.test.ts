import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chargeRequestSchema } from '../../functions/domain/charge.ts';
import { resourceNamed, resourcesOf, synthPayments } from './support/synth-payments.ts';

const { statelessTemplate: template } = synthPayments({ apiRateLimit: 40, apiBurstLimit: 80 });

/** The method `httpMethod` on the resource whose last path part is `pathPart`. */
function method(httpMethod: string, pathPart: string) {
  const resourceIds = Object.entries(resourcesOf(template, 'AWS::ApiGateway::Resource'))
    .filter(([, resource]) => resource.Properties.PathPart === pathPart)
    .map(([id]) => id);
  expect(resourceIds).toHaveLength(1);
  const [resourceId] = resourceIds;
  const matches = Object.values(resourcesOf(template, 'AWS::ApiGateway::Method')).filter(
    (candidate) =>
      candidate.Properties.HttpMethod === httpMethod &&
      (candidate.Properties.ResourceId as { Ref?: string }).Ref === resourceId,
  );
  expect(matches).toHaveLength(1);
  return matches[0]?.Properties ?? {};
}

describe('client identity: the REQUEST authorizer and the usage plan', () => {
  it('puts POST /charge and GET /charges/{id} behind the REQUEST authorizer on x-api-key', () => {
    const [authorizerId] = resourceNamed(
      template,
      'AWS::ApiGateway::Authorizer',
      'ApiClientKeyAuthorizer',
    );
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.x-api-key',
      // A revoked key is refused at most this long after the revocation (docs/RUNBOOK.md).
      AuthorizerResultTtlInSeconds: 60,
      AuthorizerUri: Match.objectLike({
        'Fn::Join': Match.arrayWith([
          Match.arrayWith([
            Match.objectLike({
              'Fn::GetAtt': [Match.stringLikeRegexp('^AuthorizerFunction'), 'Arn'],
            }),
          ]),
        ]),
      }),
    });
    for (const secured of [method('POST', 'charge'), method('GET', '{id}')]) {
      expect(secured).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
        ApiKeyRequired: true,
      });
    }
  });

  it('throttles by the usage key the authorizer returns, not by a header the client sends', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
  });

  it('answers GET /health without an API key, throttled on its own', () => {
    expect(method('GET', 'health').ApiKeyRequired).toBe(false);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ResourcePath: '/~1health', HttpMethod: 'GET', ThrottlingRateLimit: 10 }),
      ]),
    });
  });

  it('throttles each client through a usage plan on the deployed stage, with a default key in it', () => {
    const [stageId] = resourceNamed(template, 'AWS::ApiGateway::Stage', 'ApiDeploymentStage');
    const [planId] = resourceNamed(template, 'AWS::ApiGateway::UsagePlan', 'ApiUsagePlan');
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 40, BurstLimit: 80 },
      ApiStages: [Match.objectLike({ Stage: { Ref: stageId } })],
    });
    const [keyId] = resourceNamed(template, 'AWS::ApiGateway::ApiKey', 'ApiDefaultClientKey');
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: keyId },
      KeyType: 'API_KEY',
      UsagePlanId: { Ref: planId },
    });
  });
});

describe('request validation', () => {
  it('validates the POST /charge body against the domain schema before invoking the function', () => {
    const post = method('POST', 'charge');
    const [modelId, model] = resourceNamed(
      template,
      'AWS::ApiGateway::Model',
      'ApiChargeRequestModel',
    );
    expect(post.RequestModels).toEqual({ 'application/json': { Ref: modelId } });
    const { $schema: _draft, ...domainSchema } = z.toJSONSchema(chargeRequestSchema, {
      target: 'draft-4',
    });
    expect(model.Properties.Schema).toEqual({
      $schema: 'http://json-schema.org/draft-04/schema#',
      title: 'ChargeRequest',
      ...domainSchema,
    });
    expect(model.Properties.Schema).toMatchObject({
      additionalProperties: false,
      required: ['amount', 'currency', 'customerId'],
      properties: { amount: { type: 'integer', minimum: 1, maximum: 100_000_000 } },
    });
  });

  it('rejects POST /charge without an Idempotency-Key header', () => {
    const post = method('POST', 'charge');
    expect(post.RequestParameters).toEqual({ 'method.request.header.Idempotency-Key': true });
    const validatorId = (post.RequestValidatorId as { Ref: string }).Ref;
    expect(
      resourcesOf(template, 'AWS::ApiGateway::RequestValidator')[validatorId]?.Properties,
    ).toMatchObject({
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
  });
});

describe('gateway responses', () => {
  it.each([
    ['UNAUTHORIZED', '401'],
    ['INVALID_API_KEY', '403'],
    ['ACCESS_DENIED', '403'],
    ['MISSING_AUTHENTICATION_TOKEN', '404'],
    ['REQUEST_TOO_LARGE', '413'],
    ['UNSUPPORTED_MEDIA_TYPE', '415'],
    ['BAD_REQUEST_BODY', '400'],
    ['BAD_REQUEST_PARAMETERS', '400'],
    ['THROTTLED', '429'],
  ])('answers %s with a %s application/problem+json body', (type, status) => {
    const responses = Object.values(resourcesOf(template, 'AWS::ApiGateway::GatewayResponse'));
    const response = responses.find((candidate) => candidate.Properties.ResponseType === type);
    expect(response?.Properties).toMatchObject({
      StatusCode: status,
      ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/problem+json'" },
    });
    const templates = (response?.Properties.ResponseTemplates ?? {}) as Record<string, string>;
    const body = templates['application/json'] ?? '';
    expect(body).toContain(`"status":${status}`);
    expect(body).toContain('"type":"/problems/');
    expect(body).toContain('"detail":$context.error.messageString');
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])(
    'keeps the status of %s but answers a problem body',
    (type) => {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: Match.absent(),
        ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/problem+json'" },
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('/problems/') },
      });
    },
  );
});

describe('access logs', () => {
  it('writes one JSON access-log line per request, with the client id, to a log group', () => {
    const [logGroupId] = resourceNamed(template, 'AWS::Logs::LogGroup', 'ApiAccessLogs');
    const [, stage] = resourceNamed(template, 'AWS::ApiGateway::Stage', 'ApiDeploymentStage');
    const setting = stage.Properties.AccessLogSetting as {
      DestinationArn: unknown;
      Format: string;
    };
    expect(setting.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    expect(JSON.parse(setting.Format)).toMatchObject({
      requestId: '$context.requestId',
      clientId: '$context.authorizer.clientId',
      status: '$context.status',
    });
  });
});
