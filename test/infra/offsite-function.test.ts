import { FUNCTIONS } from '../../functions/catalog';
import { CONFIG_OBJECT_ENV as RUNTIME_CONFIG_OBJECT_ENV } from '../../functions/runtime/config-source';
import { CONFIG_OBJECT_ENV } from '../../lib/offsite-function';
import { copierSpecs, flat, resourcesFor, synthesize, testConfig, type Resource, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
});

test('the test catalog has the copier functions the tests below check', () => {
  // Assess (otherwise loops over an empty list would pass without checking anything)
  for (const group of [copierSpecs]) {
    expect(group.length).toBeGreaterThan(0);
  }
});

describe('functions', () => {
  test('one function per catalog entry, nodejs22.x on arm64, X-Ray active, memory and timeout from the catalog', () => {
    for (const spec of FUNCTIONS) {
      // Act
      const { properties } = synth.functionOf(spec);
      // Assess
      expect({ id: spec.id, ...properties }).toMatchObject({
        id: spec.id,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        MemorySize: spec.memoryMb,
        Timeout: spec.timeoutSeconds,
      });
    }
    expect(synth.resources('AWS::Lambda::Function')).toHaveLength(FUNCTIONS.length);
  });

  test('each function logs to a log group of its own with a retention', () => {
    // Act
    const logGroupIds = FUNCTIONS.map((spec) => flat((synth.functionOf(spec).properties.LoggingConfig as { LogGroup: unknown }).LogGroup).replace(/[<>]/g, ''));
    // Assess
    expect(new Set(logGroupIds).size).toBe(FUNCTIONS.length);
    for (const logGroupId of logGroupIds) {
      const logGroup = synth.template.toJSON().Resources[logGroupId] as Resource;
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties.RetentionInDays).toBe(90);
    }
  });

  test("each function gets the Powertools settings and the configuration object's s3:// location under the variable the runtime reads", () => {
    // Prepare
    const location = `s3://cdk-hnb659fds-assets-123456789012-eu-west-1/${synth.stack.resolve(synth.stack.configObject.s3ObjectKey) as string}`;
    // Act / Assess
    expect(CONFIG_OBJECT_ENV).toBe(RUNTIME_CONFIG_OBJECT_ENV);
    for (const spec of FUNCTIONS) {
      const variables = (synth.functionOf(spec).properties.Environment as { Variables: Record<string, unknown> }).Variables;
      // A job that sets its own alarm's state (verify: the bad copies it names) is told the alarm's name; nothing else is added.
      const alarmNames = Object.keys(variables).filter((name) => /^OFFSITE_[A-Z]+_ALARM_NAME$/.test(name));
      for (const name of alarmNames) expect(typeof variables[name]).toBe('string');
      expect({ id: spec.id, ...Object.fromEntries(Object.entries(variables).filter(([name]) => !alarmNames.includes(name))) }).toEqual({
        id: spec.id,
        POWERTOOLS_SERVICE_NAME: 'offsite',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Source maps everywhere (the catalog value, see below for the copiers).
        NODE_OPTIONS: spec.nodeOptions,
        [RUNTIME_CONFIG_OBJECT_ENV]: location,
      });
    }
    // The copiers run with the small young generation their memory bound was measured with.
    for (const spec of copierSpecs) {
      expect({ id: spec.id, NODE_OPTIONS: (synth.functionOf(spec).properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_OPTIONS }).toEqual({
        id: spec.id,
        NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=2',
      });
    }
  });

  test('function roles may write only to their own log group (no AWSLambdaBasicExecutionRole)', () => {
    for (const spec of FUNCTIONS) {
      // Prepare
      const { properties, roleLogicalId } = synth.functionOf(spec);
      const logGroupId = flat((properties.LoggingConfig as { LogGroup: unknown }).LogGroup).replace(/[<>]/g, '');
      const role = synth.template.toJSON().Resources[roleLogicalId] as Resource;
      // Act
      const statements = synth.statementsOfRole(roleLogicalId);
      // Assess
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(resourcesFor(statements, 'logs:PutLogEvents')).toEqual([`<${logGroupId}.Arn>`]);
    }
  });
});
