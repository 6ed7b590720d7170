import { Duration, Names, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { Network } from './network.ts';

/**
 * Aurora PostgreSQL 17 (Serverless v2, RDS Proxy). Check the region's versions with
 * `aws rds describe-db-engine-versions --engine aurora-postgresql` before changing it.
 */
const ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_7;
const POSTGRES_PORT = ec2.Port.tcp(5432);
export const DATABASE_NAME = 'payments';
const MASTER_USERNAME = 'payments_admin';

/** How a function reaches the database: through the proxy, with the generated secret. */
export interface DatabaseAccess {
  /** The Aurora-generated secret: JSON with username, password, host, port and dbname. */
  readonly secret: secretsmanager.ISecret;
  /** The RDS Proxy endpoint, which is what functions connect to (never the cluster). */
  readonly host: string;
  readonly name: string;
  /** Admits connections on 5432 from the security groups given to it. */
  readonly proxy: rds.IDatabaseProxy;
}

export interface DatabaseProps {
  readonly network: Network;
  readonly deletionProtection: boolean;
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

/**
 * The authority for idempotency records, charges, the outbox, the inbox and the ledger:
 * Aurora PostgreSQL Serverless v2 behind an RDS Proxy that requires TLS.
 *
 * Functions authenticate to the proxy with the generated secret (username and password over
 * TLS), not IAM tokens: the proxy then pools connections across Lambda environments, and
 * rotation of the secret is picked up by the proxy on its next connection. The cluster admits
 * only the proxy and the rotation function; the proxy admits only the functions.
 */
export class Database extends Construct implements DatabaseAccess {
  readonly cluster: rds.DatabaseCluster;
  readonly proxy: rds.DatabaseProxy;
  readonly secret: secretsmanager.ISecret;
  readonly host: string;
  readonly name = DATABASE_NAME;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { network } = props;
    if (props.maxCapacity < Math.max(1, props.minCapacity)) {
      throw new Error('databaseMaxCapacity must be at least 1 and at least databaseMinCapacity');
    }

    const securityGroup = (sgId: string, description: string) =>
      new ec2.SecurityGroup(this, sgId, { vpc: network.vpc, description, allowAllOutbound: false });
    const clusterSecurityGroup = securityGroup('ClusterSecurityGroup', 'Aurora cluster');
    const proxySecurityGroup = securityGroup('ProxySecurityGroup', 'RDS Proxy');
    const rotationSecurityGroup = securityGroup('RotationSecurityGroup', 'Secret rotation');

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: ENGINE_VERSION }),
      credentials: rds.Credentials.fromGeneratedSecret(MASTER_USERNAME),
      defaultDatabaseName: DATABASE_NAME,
      writer: rds.ClusterInstance.serverlessV2('Writer', {
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
      }),
      serverlessV2MinCapacity: props.minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity,
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      securityGroups: [clusterSecurityGroup],
      storageEncrypted: true,
      // Lets operators connect with IAM tokens for break-glass access; functions use the proxy.
      iamAuthentication: true,
      deletionProtection: props.deletionProtection,
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT,
      backup: { retention: Duration.days(7) },
      cloudwatchLogsExports: ['postgresql'],
    });
    if (!this.cluster.secret) throw new Error('the cluster must have a generated secret');
    this.secret = this.cluster.secret;

    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      proxyTarget: rds.ProxyTarget.fromCluster(this.cluster),
      secrets: [this.secret],
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      securityGroups: [proxySecurityGroup],
      // Proxy names are unique per account and region: derive one from the construct path.
      dbProxyName: Names.uniqueResourceName(this, { maxLength: 60, separator: '-' }),
      requireTLS: true,
      iamAuth: false,
      clientPasswordAuthType: rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
      // Lambda environments are frozen between invocations; reclaim their idle sessions.
      idleClientTimeout: Duration.minutes(15),
      maxConnectionsPercent: 90,
    });
    this.host = this.proxy.endpoint;
    if (!props.deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason:
          'Deletion protection is off only when context deletionProtection=false asks for a ' +
          'disposable sandbox; deleting the stack still leaves a final snapshot.',
      });
    }

    // Hosted rotation (a Secrets Manager-managed function) inside the isolated subnets: it
    // reaches the cluster directly and Secrets Manager through the VPC endpoint.
    this.secret.addRotationSchedule('Rotation', {
      hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({
        vpc: network.vpc,
        vpcSubnets: network.subnets,
        securityGroups: [rotationSecurityGroup],
      }),
      automaticallyAfter: Duration.days(30),
    });

    // The proxy opens cluster <- proxy itself (ProxyTarget.fromCluster); rotation is the only
    // other client of the cluster.
    this.cluster.connections.allowDefaultPortFrom(rotationSecurityGroup, 'from secret rotation');
    network.endpoints.SecretsManager.connections.allowDefaultPortFrom(rotationSecurityGroup);
    proxySecurityGroup.addIngressRule(
      network.functionSecurityGroup,
      POSTGRES_PORT,
      'from payment functions',
    );
    network.functionSecurityGroup.addEgressRule(proxySecurityGroup, POSTGRES_PORT, 'to RDS Proxy');
  }
}
