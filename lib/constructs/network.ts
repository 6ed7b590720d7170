import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The AWS APIs the functions call from inside the VPC, each through an interface endpoint
 * (~$7.30 per endpoint per AZ per month). Only what some code calls: SQS (relay, DLQ depth),
 * Secrets Manager (every function, and rotation) and EventBridge (relay). No CloudWatch Logs
 * or Monitoring endpoint: Lambda ships stdout (and so the EMF metrics) itself, outside the
 * VPC, and no function calls PutMetricData.
 */
export const INTERFACE_ENDPOINTS = {
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  EventBridge: ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
} as const;

export interface NetworkProps {
  /** Availability zones the interface endpoints have a network interface in (sandbox: 1). */
  readonly endpointZones: 1 | 2;
}

/**
 * A VPC without a route to the internet: isolated subnets only (no NAT, no internet gateway),
 * so the only ways out are the interface endpoints below, which admit only the functions'
 * security group. Nothing in the payment path can exfiltrate data or depend on a NAT.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** Where the functions, the proxy, the database and the cache live. */
  readonly subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  /** Carried by every function; the only source the proxy, cache and endpoints admit. */
  readonly functionSecurityGroup: ec2.SecurityGroup;
  readonly endpoints: Record<keyof typeof INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>;

  constructor(scope: Construct, id: string, props: NetworkProps = { endpointZones: 2 }) {
    super(scope, id);

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
      ],
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });

    this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'Payment functions: egress only to the proxy, the cache and the VPC endpoints',
      allowAllOutbound: false,
    });

    const endpoints: Partial<Record<keyof typeof INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpoint>> =
      {};
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      const endpoint = this.vpc.addInterfaceEndpoint(`${name}Endpoint`, {
        service,
        // One AZ halves the endpoint bill; an outage of that AZ then cuts every function off
        // from SQS and Secrets Manager (the sandbox accepts that).
        subnets:
          props.endpointZones === 1
            ? { subnets: this.vpc.isolatedSubnets.slice(0, 1) }
            : this.subnets,
        privateDnsEnabled: true,
        // Not open to the whole VPC CIDR: only the security groups granted below.
        open: false,
      });
      endpoint.connections.allowDefaultPortFrom(this.functionSecurityGroup);
      endpoints[name as keyof typeof INTERFACE_ENDPOINTS] = endpoint;
    }
    this.endpoints = endpoints as Record<
      keyof typeof INTERFACE_ENDPOINTS,
      ec2.InterfaceVpcEndpoint
    >;
  }
}
