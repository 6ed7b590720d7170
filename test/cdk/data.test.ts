import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { resourceNamed, resourcesOf, synthPayments } from './support/synth-payments.ts';

const { statefulTemplate: template } = synthPayments();

function isolatedSubnetIds(): string[] {
  return Object.entries(resourcesOf(template, 'AWS::EC2::Subnet'))
    .filter(([, subnet]) =>
      (subnet.Properties.Tags as { Key: string; Value: string }[]).some(
        (tag) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === 'Isolated',
      ),
    )
    .map(([id]) => id);
}

/** Security-group ingress rules into `groupPrefix`*, as [source group logical id, port]. */
function ingressInto(groupPrefix: string): [string, unknown][] {
  const [groupId] = resourceNamed(template, 'AWS::EC2::SecurityGroup', groupPrefix);
  return Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroupIngress'))
    .filter(
      (rule) =>
        (rule.Properties.GroupId as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] === groupId,
    )
    .map((rule) => [
      (rule.Properties.SourceSecurityGroupId as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '',
      rule.Properties.FromPort,
    ]);
}

describe('network', () => {
  it('has only isolated subnets: no internet or NAT gateway, no public route', () => {
    expect(isolatedSubnetIds()).toHaveLength(2);
    expect(Object.keys(resourcesOf(template, 'AWS::EC2::Subnet'))).toEqual(isolatedSubnetIds());
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
  });

  it('reaches SQS, Secrets Manager and EventBridge, and nothing else, through endpoints open only to granted groups', () => {
    const services = Object.values(resourcesOf(template, 'AWS::EC2::VPCEndpoint')).map(
      (endpoint) => /\.([a-z]+)"\]\]\}$/.exec(JSON.stringify(endpoint.Properties.ServiceName))?.[1],
    );
    // No CloudWatch Logs or Monitoring endpoint: Lambda ships stdout (EMF) outside the VPC.
    expect(services.sort()).toEqual(['events', 'secretsmanager', 'sqs']);
    const [functionGroupId] = resourceNamed(
      template,
      'AWS::EC2::SecurityGroup',
      'NetworkFunctionSecurityGroup',
    );
    for (const endpointGroup of ['NetworkVpcSqsEndpoint', 'NetworkVpcEventBridgeEndpoint']) {
      expect(ingressInto(endpointGroup)).toEqual([[functionGroupId, 443]]);
    }
    for (const group of Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroup'))) {
      expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    }
  });
});

describe('database', () => {
  it('is not publicly accessible and lives in the isolated subnets', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.serverless',
      PubliclyAccessible: false,
    });
    const [, subnetGroup] = resourceNamed(template, 'AWS::RDS::DBSubnetGroup', 'DatabaseCluster');
    expect(subnetGroup.Properties.SubnetIds).toEqual(
      isolatedSubnetIds().map((id) => ({ Ref: id })),
    );
  });

  it('is Aurora PostgreSQL Serverless v2 with encrypted storage and deletion protection', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      EngineVersion: Match.stringLikeRegexp('^1[6-9]\\.'),
      StorageEncrypted: true,
      DeletionProtection: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
    });
    template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Retain' });
  });

  it('drops deletion protection only when context says so, keeping a final snapshot', () => {
    const { statefulTemplate: sandbox } = synthPayments({ deletionProtection: false });
    sandbox.hasResourceProperties('AWS::RDS::DBCluster', { DeletionProtection: false });
    sandbox.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Snapshot' });
  });

  it('is reached through an RDS Proxy that requires TLS and authenticates with the generated secret', () => {
    const [secretId] = resourceNamed(
      template,
      'AWS::SecretsManager::SecretTargetAttachment',
      'DatabaseClusterSecretAttachment',
    );
    const roleSecrets = [
      'Charge',
      'GetCharge',
      'Relay',
      'Consumer',
      'Authorizer',
      'ClientAdmin',
      'Reconciliation',
      'Housekeeping',
    ].map(
      (role) =>
        resourceNamed(
          template,
          'AWS::SecretsManager::SecretTargetAttachment',
          `DatabasePayments${role}SecretAttachment`,
        )[0],
    );
    template.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: [secretId, ...roleSecrets].map((id) =>
        Match.objectLike({ AuthScheme: 'SECRETS', IAMAuth: 'DISABLED', SecretArn: { Ref: id } }),
      ),
    });
  });

  it('admits the functions only at the proxy, and only the proxy and rotation at the cluster', () => {
    const [functionGroupId] = resourceNamed(
      template,
      'AWS::EC2::SecurityGroup',
      'NetworkFunctionSecurityGroup',
    );
    const [proxyGroupId] = resourceNamed(
      template,
      'AWS::EC2::SecurityGroup',
      'DatabaseProxySecurityGroup',
    );
    const [rotationGroupId] = resourceNamed(
      template,
      'AWS::EC2::SecurityGroup',
      'DatabaseRotationSecurityGroup',
    );
    expect(ingressInto('DatabaseProxySecurityGroup')).toEqual([[functionGroupId, 5432]]);
    const clusterSources = ingressInto('DatabaseClusterSecurityGroup').map(([source]) => source);
    expect(clusterSources.sort()).toEqual([proxyGroupId, rotationGroupId].sort());
  });

  it('rotates its credentials every 30 days with hosted single-user rotation inside the VPC', () => {
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      HostedRotationLambda: Match.objectLike({
        RotationType: 'PostgreSQLSingleUser',
        VpcSecurityGroupIds: Match.anyValue(),
      }),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
  });
});

describe('hot tier', () => {
  it('is absent unless switched on', () => {
    template.resourceCountIs('AWS::ElastiCache::ServerlessCache', 0);
  });

  it('is an ElastiCache Serverless Valkey cache in the isolated subnets, open only to the functions', () => {
    const { statefulTemplate: hot } = synthPayments({ hotTier: true });
    const subnets = Object.keys(resourcesOf(hot, 'AWS::EC2::Subnet')).map((id) => ({ Ref: id }));
    const [groupId] = resourceNamed(hot, 'AWS::EC2::SecurityGroup', 'HotTierSecurityGroup');
    hot.hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
      Engine: 'valkey',
      SubnetIds: subnets,
      SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }],
    });
    const [functionGroupId] = resourceNamed(
      hot,
      'AWS::EC2::SecurityGroup',
      'NetworkFunctionSecurityGroup',
    );
    hot.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [functionGroupId, 'GroupId'] },
      FromPort: 6379,
    });
  });
});
