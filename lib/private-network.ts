import { Annotations, Fn } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { NetworkPlacement } from '../functions/config/schema';

/** Where a function is attached to a VPC: the VPC, its subnets and its security groups. */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: readonly ec2.ISubnet[];
  readonly securityGroups: readonly ec2.ISecurityGroup[];
}

/**
 * The existing VPC, subnets and security groups (`network` in the configuration) that every
 * function reaching a private network (a kind's `network: 'private-network'` functions,
 * whatever their kind) is attached to. Everything is imported by id, so
 * synthesis needs no AWS credentials or network (no `Vpc.fromLookup`), and nothing here
 * creates or changes a network resource: the security groups are imported immutable, so
 * CDK never adds a rule to a group someone else owns.
 *
 * The subnets must route to everything those functions reach besides their targets:
 * - S3 (the archive bucket): a gateway endpoint for S3 in the subnets' route tables, or a NAT;
 * - SSM (the configuration parameter), Secrets Manager (credentials, CA bundles) and
 *   CloudWatch Logs / X-Ray: interface endpoints with private DNS, or a NAT.
 * A function in a VPC never gets a public IP address: in a subnet whose only way out is an
 * internet gateway (a "public" subnet) it reaches nothing outside the VPC. CDK cannot tell
 * imported subnets apart (it only sees ids), so it does not check this at synthesis.
 * The security groups must allow outbound HTTPS (443) to the targets and to those
 * endpoints; no inbound rule is needed.
 */
export class PrivateNetwork extends Construct implements FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly subnets: readonly ec2.ISubnet[];
  readonly securityGroups: readonly ec2.ISecurityGroup[];

  constructor(scope: Construct, id: string, placement: NetworkPlacement) {
    super(scope, id);
    // The subnets are selected explicitly, so the VPC needs no subnet lists of its own
    // (only fromLookup could fill those in, and it calls AWS). fromVpcAttributes insists
    // on availability zones; the region's (a deploy-time token) are never used here.
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: placement.vpcId, availabilityZones: Fn.getAzs() });
    this.subnets = [...new Set(placement.subnetIds)].map((subnetId) => ec2.Subnet.fromSubnetId(this, `Subnet-${subnetId}`, subnetId));
    this.securityGroups = [...new Set(placement.securityGroupIds)].map((securityGroupId) =>
      ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup-${securityGroupId}`, securityGroupId, { mutable: false }),
    );

    // What the imports warn about is never used: subnets are selected by id, and no route
    // or endpoint is added to them.
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      'The functions are given their subnets explicitly by id; nothing selects subnets of this VPC by availability zone.',
    );
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/aws-ec2:noSubnetRouteTableId',
      "offsite adds no route or endpoint to the imported subnets and never reads their route tables; their routing is the network owner's.",
    );
  }
}
