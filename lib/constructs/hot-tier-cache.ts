import { Names } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';
import type { Network } from './network.ts';

const VALKEY_PORT = ec2.Port.tcp(6379);

/** How a function reaches the hot tier. */
export interface CacheAccess {
  /** `rediss://host:port`: ElastiCache Serverless always requires TLS. */
  readonly url: string;
}

/**
 * The optional hot tier of the idempotency store: ElastiCache Serverless (Valkey), SET NX in
 * front of Postgres. Postgres stays the authority, so losing this cache (or every key in it)
 * costs latency, never a double charge; no snapshots are kept for the same reason.
 * Access is by network only (the functions' security group, TLS); no user group is attached.
 */
export class HotTierCache extends Construct implements CacheAccess {
  readonly url: string;

  constructor(scope: Construct, id: string, props: { network: Network }) {
    super(scope, id);
    const { network } = props;
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: network.vpc,
      description: 'Idempotency hot tier (Valkey)',
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(
      network.functionSecurityGroup,
      VALKEY_PORT,
      'from payment functions',
    );
    network.functionSecurityGroup.addEgressRule(securityGroup, VALKEY_PORT, 'to the hot tier');

    const cache = new elasticache.CfnServerlessCache(this, 'Cache', {
      engine: 'valkey',
      majorEngineVersion: '8',
      serverlessCacheName: Names.uniqueResourceName(this, {
        maxLength: 40,
        separator: '-',
      }).toLowerCase(),
      description: 'Idempotency hot tier for POST /charge',
      securityGroupIds: [securityGroup.securityGroupId],
      subnetIds: network.vpc.selectSubnets(network.subnets).subnetIds,
      // Bounds the bill of a sandbox: idempotency keys are small and expire in a day.
      cacheUsageLimits: {
        dataStorage: { maximum: 5, unit: 'GB' },
        ecpuPerSecond: { maximum: 15_000 },
      },
      snapshotRetentionLimit: 0,
    });
    this.url = `rediss://${cache.attrEndpointAddress}:${cache.attrEndpointPort}`;
  }
}
