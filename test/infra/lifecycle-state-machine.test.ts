import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LIFECYCLES, functionArnPlaceholder, type LifecycleSpec } from '../../functions/catalog';
import { LifecycleStateMachine } from '../../lib/lifecycle-state-machine';
import { allowedActions, aslPlaceholders, flat, resourcesFor, synthesize, testConfig, type Resource, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
});

describe('state machines', () => {
  test('every placeholder of each ASL file is substituted with a catalog function ARN', () => {
    for (const spec of LIFECYCLES) {
      // Prepare
      const { properties } = synth.stateMachineOf(spec);
      const substitutions = Object.fromEntries(
        Object.entries(properties.DefinitionSubstitutions as Record<string, unknown>).map(([key, value]) => [key, flat(value)]),
      );
      // Act
      const substituted = (properties.DefinitionString as string).replace(/\$\{([^}]*)\}/g, (whole, name: string) => substitutions[name] ?? whole);
      const leftOver = substituted.match(/\$\{[^}]*\}/g) ?? [];
      // Assess
      expect({ lifecycle: spec.id, leftOver }).toEqual({ lifecycle: spec.id, leftOver: [] });
      expect(Object.keys(substitutions).sort()).toEqual(aslPlaceholders(spec).sort());
      for (const [placeholder, arn] of Object.entries(substitutions)) {
        expect(functionArnPlaceholder(synth.catalogIdOfFunctionArn(arn))).toBe(placeholder);
      }
    }
  });

  test('each state machine role may invoke exactly the functions its ASL file uses', () => {
    for (const spec of LIFECYCLES) {
      // Prepare
      const { properties } = synth.stateMachineOf(spec);
      const roleLogicalId = flat(properties.RoleArn).replace(/^<(.*)\.Arn>$/, '$1');
      const expected = aslPlaceholders(spec).map((placeholder) => placeholder.replace(/FunctionArn$/, '')).sort();
      // Act
      const statements = synth.statementsOfRole(roleLogicalId);
      const invocable = resourcesFor(statements, 'lambda:InvokeFunction').map(synth.catalogIdOfFunctionArn).sort();
      // Assess
      expect({ lifecycle: spec.id, invocable }).toEqual({ lifecycle: spec.id, invocable: expected });
      expect(allowedActions(statements).filter((action) => action.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
    }
  });

  test('log ALL events with execution data to a log group with retention, and trace with X-Ray', () => {
    for (const spec of LIFECYCLES) {
      // Act
      const { properties } = synth.stateMachineOf(spec);
      const logGroupId = flat(
        (properties.LoggingConfiguration as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[] }).Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn,
      ).replace(/^<(.*)\.Arn>$/, '$1');
      const logGroup = synth.template.toJSON().Resources[logGroupId] as Resource;
      // Assess
      expect(properties).toMatchObject({ LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true }, TracingConfiguration: { Enabled: true } });
      expect(logGroup.Properties).toMatchObject({ LogGroupName: `/aws/vendedlogs/states/offsite-${spec.kind}-${spec.purpose}`, RetentionInDays: 90 });
    }
  });

  test('each definition carries the catalog timeout as TimeoutSeconds', () => {
    for (const spec of LIFECYCLES) {
      // Act
      const definition = JSON.parse(synth.stateMachineOf(spec).properties.DefinitionString as string) as { TimeoutSeconds?: number };
      // Assess
      expect(definition.TimeoutSeconds).toBe(spec.timeoutHours * 3600);
    }
  });

  test('a placeholder without a catalog function fails synthesis with a clear message', () => {
    // Prepare
    const repoRoot = mkdtempSync(join(tmpdir(), 'offsite-asl-'));
    try {
      writeFileSync(
        join(repoRoot, 'broken.asl.json'),
        JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Task', Resource: '${NoSuchStepFunctionArn}', End: true } } }),
      );
      const scope = new Stack(new App(), 'Broken');
      const fn = new lambda.Function(scope, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>1') });
      const spec: LifecycleSpec = { id: 'Broken', kind: 'netbox-cloud', purpose: 'backup', definitionFile: 'broken.asl.json', timeoutHours: 1 };
      // Act
      const build = (): unknown => new LifecycleStateMachine(scope, 'Broken', { spec, functions: new Map([['Known', fn]]), namePrefix: 'test', repoRoot });
      // Assess
      expect(build).toThrow(/broken\.asl\.json .*\$\{NoSuchStepFunctionArn\}.*no function in functions\/catalog\.ts.*\$\{KnownFunctionArn\}/);
    } finally {
      rmSync(repoRoot, { recursive: true, force: true });
    }
  });
});
