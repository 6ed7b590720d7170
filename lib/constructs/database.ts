import { Duration, Names, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
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
/** How long a client may wait for a pooled connection from the proxy (default 120 s). */
export const PROXY_BORROW_TIMEOUT = Duration.seconds(5);
export const SECRET_ROTATION_INTERVAL = Duration.days(30);

/**
 * The login roles functions connect as, one per function kind, created with their grants by
 * functions/migrate/migrations/0007_function_roles.sql. The owner (MASTER_USERNAME) is used
 * by the migrate function alone.
 */
export const DATABASE_ROLES = [
  'payments_charge',
  'payments_get_charge',
  'payments_relay',
  'payments_consumer',
  'payments_authorizer',
  'payments_client_admin',
  'payments_reconciliation',
  'payments_housekeeping',
] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];

/** How a function reaches the Aurora database: through the proxy (or the writer), by secret. */
export interface ManagedDatabaseAccess {
  readonly kind: 'managed';
  /** The owner's secret (Aurora-generated): migrate only. */
  readonly ownerSecret: secretsmanager.ISecret;
  /** One secret per function role: JSON with username and password (rotated every 30 days). */
  readonly roleSecrets: Record<DatabaseRole, secretsmanager.ISecret>;
  /** The RDS Proxy endpoint (production) or the cluster writer (sandbox). */
  readonly host: string;
  readonly name: string;
  /**
   * false: functions talk TLS to the cluster itself, whose certificate chains to the RDS CAs,
   * which the Node.js 20+ Lambda runtimes do not trust unless told to (the proxy's chains to
   * Amazon's public roots, which Node trusts).
   */
  readonly viaProxy: boolean;
}

/** The localstack profile: a PostgreSQL outside the stacks, by URL (there is no Aurora). */
export interface ExternalDatabaseAccess {
  readonly kind: 'external';
  readonly url: string;
}

export type DatabaseAccess = ManagedDatabaseAccess | ExternalDatabaseAccess;

export interface DatabaseProps {
  readonly network: Network;
  readonly deletionProtection: boolean;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** false (sandbox profile): functions connect to the writer directly, no proxy bill. */
  readonly proxy: boolean;
}

/**
 * The authority for idempotency records, charges, the outbox, the inbox and the ledger:
 * Aurora PostgreSQL Serverless v2 that accepts TLS connections only (rds.force_ssl), behind an
 * RDS Proxy that requires TLS too.
 *
 * Each function kind authenticates as its own least-privilege role with its own secret
 * (username and password over TLS); every secret rotates every 30 days, and the functions
 * re-read theirs when a new connection is refused (functions/store/database-connection.ts),
 * so a rotation fails no request. The cluster admits only the proxy (or, in the sandbox, the
 * functions) and the rotation functions; the proxy admits only the functions.
 */
export class Database extends Construct implements ManagedDatabaseAccess {
  readonly kind = 'managed';
  readonly cluster: rds.DatabaseCluster;
  readonly proxy: rds.DatabaseProxy | undefined;
  readonly ownerSecret: secretsmanager.ISecret;
  readonly roleSecrets: Record<DatabaseRole, secretsmanager.ISecret>;
  readonly host: string;
  readonly name = DATABASE_NAME;
  readonly viaProxy: boolean;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { network } = props;
    if (props.maxCapacity < Math.max(1, props.minCapacity)) {
      throw new Error('databaseMaxCapacity must be at least 1 and at least databaseMinCapacity');
    }

    const securityGroup = (sgId: string, description: string) =>
      new ec2.SecurityGroup(this, sgId, { vpc: network.vpc, description, allowAllOutbound: false });
    const clusterSecurityGroup = securityGroup('ClusterSecurityGroup', 'Aurora cluster');
    const rotationSecurityGroup = securityGroup('RotationSecurityGroup', 'Secret rotation');
    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: ENGINE_VERSION });

    // Named here so its log group can be created first, with a retention (the group RDS would
    // create on its own never expires; CDK's cloudwatchLogsRetention adds a custom-resource
    // Lambda just to set it). RDS stores identifiers in lower case.
    const clusterIdentifier = Names.uniqueResourceName(this, {
      maxLength: 63,
      separator: '-',
    }).toLowerCase();
    const postgresLogs = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      clusterIdentifier,
      credentials: rds.Credentials.fromGeneratedSecret(MASTER_USERNAME),
      defaultDatabaseName: DATABASE_NAME,
      // Plain-text connections are refused by the server itself, whoever connects.
      parameterGroup: new rds.ParameterGroup(this, 'ClusterParameters', {
        engine,
        description: 'Payments: TLS only',
        parameters: { 'rds.force_ssl': '1' },
      }),
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
      // Lets operators connect with IAM tokens for break-glass access; functions use secrets.
      iamAuthentication: true,
      deletionProtection: props.deletionProtection,
      // Money state: kept whole in production, a final snapshot when a sandbox is deleted.
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT,
      backup: { retention: Duration.days(7) },
      cloudwatchLogsExports: ['postgresql'],
    });
    this.cluster.node.addDependency(postgresLogs);
    if (!this.cluster.secret) throw new Error('the cluster must have a generated secret');
    this.ownerSecret = this.cluster.secret;
    // The generated secret is the only copy of the owner's password: deleting the stack must
    // not delete it (the retained cluster would be left without a known owner password).
    (this.cluster.node.findChild('Secret') as secretsmanager.Secret).applyRemovalPolicy(
      RemovalPolicy.RETAIN,
    );

    const rotation = (secret: secretsmanager.ISecret, rotateImmediately = true) =>
      secret.addRotationSchedule('Rotation', {
        // A role secret must not rotate on creation: its role does not exist until the
        // migration runs (in the stateless stack), so that rotation would fail and leave an
        // AWSPENDING version behind, which makes migrate leave the role's password alone.
        rotateImmediatelyOnUpdate: rotateImmediately,
        // Single-user: each role changes its own password; connections already open keep
        // working, new ones re-read the secret on 28P01.
        hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({
          vpc: network.vpc,
          vpcSubnets: network.subnets,
          securityGroups: [rotationSecurityGroup],
        }),
        automaticallyAfter: SECRET_ROTATION_INTERVAL,
      });
    rotation(this.ownerSecret);

    const roleSecrets: Partial<Record<DatabaseRole, secretsmanager.ISecret>> = {};
    for (const role of DATABASE_ROLES) {
      const secret = new rds.DatabaseSecret(this, `${pascalCase(role)}Secret`, {
        username: role,
        // The owner may reset it (migrate sets the role's password from this secret).
        masterSecret: this.ownerSecret,
      });
      secret.applyRemovalPolicy(RemovalPolicy.RETAIN);
      // host, port, dbname and engine, which the rotation function needs.
      const attached = secret.attach(this.cluster);
      rotation(attached, false);
      roleSecrets[role] = attached;
    }
    this.roleSecrets = roleSecrets as Record<DatabaseRole, secretsmanager.ISecret>;

    this.viaProxy = props.proxy;
    if (props.proxy) {
      const proxySecurityGroup = securityGroup('ProxySecurityGroup', 'RDS Proxy');
      this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
        proxyTarget: rds.ProxyTarget.fromCluster(this.cluster),
        secrets: [this.ownerSecret, ...Object.values(this.roleSecrets)],
        vpc: network.vpc,
        vpcSubnets: network.subnets,
        securityGroups: [proxySecurityGroup],
        // Proxy names are unique per account and region: derive one from the construct path.
        dbProxyName: Names.uniqueResourceName(this, { maxLength: 60, separator: '-' }),
        requireTLS: true,
        iamAuth: false,
        clientPasswordAuthType: rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
        // A request waiting for a pooled connection fails in 5 s, well inside the charge
        // function's 15 s and API Gateway's 29 s, instead of after the 120 s default.
        borrowTimeout: PROXY_BORROW_TIMEOUT,
        // Lambda environments are frozen between invocations; reclaim their idle sessions.
        idleClientTimeout: Duration.minutes(15),
        maxConnectionsPercent: 90,
      });
      this.host = this.proxy.endpoint;
      proxySecurityGroup.addIngressRule(
        network.functionSecurityGroup,
        POSTGRES_PORT,
        'from payment functions',
      );
      network.functionSecurityGroup.addEgressRule(
        proxySecurityGroup,
        POSTGRES_PORT,
        'to RDS Proxy',
      );
    } else {
      this.proxy = undefined;
      this.host = this.cluster.clusterEndpoint.hostname;
      this.cluster.connections.allowDefaultPortFrom(
        network.functionSecurityGroup,
        'from payment functions (sandbox: no proxy)',
      );
    }
    if (!props.deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason:
          'Deletion protection is off only when context deletionProtection=false (or the ' +
          'sandbox profile) asks for a disposable deployment; deleting the stack still leaves a ' +
          'final snapshot.',
      });
    }

    // The proxy opens cluster <- proxy itself (ProxyTarget.fromCluster); rotation is the only
    // other client of the cluster.
    this.cluster.connections.allowDefaultPortFrom(rotationSecurityGroup, 'from secret rotation');
    network.endpoints.SecretsManager.connections.allowDefaultPortFrom(rotationSecurityGroup);
  }
}

function pascalCase(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_match, _sep, letter: string) => letter.toUpperCase());
}
