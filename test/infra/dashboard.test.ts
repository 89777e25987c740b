import { LIFECYCLES } from '../../functions/catalog';
import { only, synthesize, testConfig, type SynthesizedStack } from '../support/infra';

// One synthesis for the whole file, without bundling (see synthesize in test/support/infra.ts).
let synth: SynthesizedStack;
let body: string;

beforeAll(() => {
  synth = synthesize(testConfig(), { bundle: false });
  const dashboard = only(synth.resources('AWS::CloudWatch::Dashboard'), 'dashboard')[1];
  // The body is a Fn::Join of strings and tokens; its text is enough to find what it graphs.
  body = JSON.stringify(dashboard.Properties.DashboardBody);
});

describe('dashboard', () => {
  test('one dashboard named after the stack', () => {
    // Assess
    synth.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'offsite' });
  });

  test('graphs executions and failures of every lifecycle', () => {
    // Assess
    for (const metric of ['ExecutionsStarted', 'ExecutionsFailed', 'ExecutionsTimedOut']) expect(body).toContain(metric);
    for (const spec of LIFECYCLES) expect(body).toContain(`offsite-${spec.kind}-${spec.purpose}`);
  });

  test('graphs copy bytes and throughput per kind, stale targets, verify results and coverage gaps', () => {
    // Assess
    for (const metric of ['CopyBytes', 'CopyThroughput', 'StaleTargets', 'VerifiedCopies', 'VerifyBadCopies', 'VerifiedBytes']) expect(body).toContain(metric);
    expect(body).toMatch(/Coverage gaps/);
  });

  test('without a drill configured, the restore drills row says so instead of graphing', () => {
    // Assess
    expect(body).toContain('No target has a drill configured');
    expect(body).not.toContain('OverdueDrills');
  });
});
