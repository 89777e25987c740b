import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { FUNCTIONS } from '../../functions/catalog';
import {
  NETWORK,
  allowedActions,
  privateNetworkSpecs,
  catalog,
  internetSpecs,
  synthesize,
  testConfig,
  withoutNetworkConfig,
  type Resource,
  type SynthesizedStack,
} from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
});

test('the test catalog has functions on both networks the tests below check', () => {
  // Assess (otherwise loops over an empty list would pass without checking anything)
  for (const group of [privateNetworkSpecs, internetSpecs]) {
    expect(group.length).toBeGreaterThan(0);
  }
});

describe('network placement', () => {
  // A second synthesis: the same catalog without `network`, appliance credentials from the
  // environment and the CA inline (no secret at all for that kind). Not bundled.
  let withoutNetwork: SynthesizedStack;

  beforeAll(() => {
    withoutNetwork = synthesize(withoutNetworkConfig(), { bundle: false, id: 'NoNetwork' });
  });

  test("functions with network 'private-network' are in the configured VPC: exactly the configured subnets and security groups", () => {
    for (const spec of privateNetworkSpecs) {
      // Act
      const { properties } = synth.functionOf(spec);
      // Assess
      expect({ id: spec.id, VpcConfig: properties.VpcConfig }).toEqual({
        id: spec.id,
        VpcConfig: { SubnetIds: NETWORK.subnetIds, SecurityGroupIds: NETWORK.securityGroupIds },
      });
    }
  });

  test("functions with network 'internet' are never in a VPC", () => {
    for (const spec of internetSpecs) {
      // Act
      const { properties } = synth.functionOf(spec);
      // Assess
      expect({ id: spec.id, VpcConfig: properties.VpcConfig }).toEqual({ id: spec.id, VpcConfig: undefined });
    }
  });

  test('the imported security groups are used as they are: no security group or rule is created', () => {
    // Act
    const created = ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::VPC', 'AWS::EC2::Subnet'].flatMap((type) =>
      synth.resources(type).map(([logicalId]) => `${type} ${logicalId}`),
    );
    // Assess
    expect(created).toEqual([]);
  });

  test('functions in the VPC may manage their network interfaces, without the AWS managed VPC policy; the others may not', () => {
    for (const spec of catalog) {
      // Prepare
      const { roleLogicalId } = synth.functionOf(spec);
      const role = synth.template.toJSON().Resources[roleLogicalId] as Resource;
      // Act
      const ec2Actions = allowedActions(synth.statementsOfRole(roleLogicalId)).filter((action) => action.startsWith('ec2:')).sort();
      // Assess
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect({ id: spec.id, ec2Actions }).toEqual({
        id: spec.id,
        ec2Actions:
          spec.network === 'private-network'
            ? [
                'ec2:AssignPrivateIpAddresses',
                'ec2:CreateNetworkInterface',
                'ec2:DeleteNetworkInterface',
                'ec2:DescribeNetworkInterfaces',
                'ec2:DescribeSubnets',
                'ec2:UnassignPrivateIpAddresses',
              ]
            : [],
      });
    }
  });

  test('without network no function is in a VPC', () => {
    // Act
    const withVpc = Object.entries(withoutNetwork.template.findResources('AWS::Lambda::Function') as Record<string, Resource>)
      .filter(([, fn]) => fn.Properties.VpcConfig !== undefined)
      .map(([logicalId]) => logicalId);
    // Assess
    expect(withVpc).toEqual([]);
    withoutNetwork.template.resourceCountIs('AWS::Lambda::Function', FUNCTIONS.length);
  });

  test('without network, appliance targets give a warning that the appliance functions are not in a VPC', () => {
    // Act
    const warnings = Annotations.fromStack(withoutNetwork.stack).findWarning('*', Match.stringLikeRegexp('functions are not in a VPC'));
    // Assess
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.entry.data)).toContain('can only reach targets with public addresses');
    expect(String(warnings[0]?.entry.data)).toContain('appliance-ar11');
  });
});
