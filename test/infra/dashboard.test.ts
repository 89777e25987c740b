import { LIFECYCLES } from '../../functions/catalog';
import { only, synthesize, testConfig, type SynthesizedStack } from '../support/infra';

const dashboardBody = (stack: SynthesizedStack): string => JSON.stringify(only(stack.resources('AWS::CloudWatch::Dashboard'), 'dashboard')[1].Properties.DashboardBody);

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

  test('without a secondary, graphs no metric per place', () => {
    // Assess
    expect(body).not.toContain('Place');
  });

  test('with a secondary, graphs the bad copies the verify found in each place', () => {
    // Prepare
    const base = testConfig();
    const withSecondary = synthesize({ ...base, archive: { ...base.archive, secondary: { bucket: 'dr-offsite', prefix: 'mirror/', region: 'eu-central-1' } } }, { bundle: false, id: 'DashboardSecondary' });

    // Act
    const text = dashboardBody(withSecondary);

    // Assess
    expect(text).toContain('per place');
    const unescaped = text.replace(/\\"/g, '"');
    for (const place of ['primary', 'secondary']) expect(unescaped).toContain(`"VerifyBadCopies","Job","verify","Place","${place}"`);
  });

  test('without a drill configured, the restore drills row says so instead of graphing', () => {
    // Assess
    expect(body).toContain('No target has a drill configured');
    expect(body).not.toContain('OverdueDrills');
  });
});
