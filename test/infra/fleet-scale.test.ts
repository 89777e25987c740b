import { AwsSolutionsChecks } from 'cdk-nag';
import { deployFigures, describeFigures, LIMITS, limitViolations, type DeployFigures, type TemplateJson } from '../support/deploy-limits';
import { DRILL_EXPRESSIONS, EXPRESSIONS, fleetConfig } from '../support/fleet-config';
import { synthesize, type SynthesizedStack } from '../support/infra';

// A fleet in one stack, configured as a network team does: every target of the four kinds
// with its own Secrets Manager secret, some with restore drills, spread over four nightly
// expressions. The template, the IAM policies, the environments and the definitions must
// stay within every deploy-time limit, and grow with the kinds and expressions in use, not
// with the targets.
const figures = new Map<number, DeployFigures>();
let thousand: SynthesizedStack;

beforeAll(() => {
  for (const count of [10, 100, 1000]) {
    const synth = synthesize(fleetConfig(count), { bundle: false });
    figures.set(count, deployFigures(synth.template.toJSON() as TemplateJson));
    if (count === 1000) thousand = synth;
  }
  // The figures the README quotes, printed once per run.
  process.stdout.write(`fleet figures:\n${[...figures].map(([count, figure]) => `  ${count} targets: ${describeFigures(figure)}`).join('\n')}\n`);
});

const at = (count: number): DeployFigures => {
  const figure = figures.get(count);
  if (!figure) throw new Error(`no figures for ${count} targets`);
  return figure;
};

test('1,000 targets with a secret each stay within every deploy-time limit (CloudFormation, IAM, Lambda, Step Functions)', () => {
  // Act
  const violations = limitViolations(at(1000));
  // Assess
  expect(violations).toEqual([]);
  expect(at(1000).resources).toBeLessThanOrEqual(LIMITS.resources);
  expect(at(1000).templateBytes).toBeLessThanOrEqual(LIMITS.templateBytes);
});

test("a function's permissions are the same for 10 targets and 1,000: no role's policies grow with the fleet", () => {
  // Act
  const policySizes = (count: number): Record<string, number> =>
    Object.fromEntries(at(count).roles.map((role) => [role.role, role.inlineChars]));
  // Assess: the same roles, each with a policy of the same size, at 10, 100 and 1,000 targets.
  expect(policySizes(100)).toEqual(policySizes(10));
  expect(policySizes(1000)).toEqual(policySizes(10));
  expect(at(1000).managedPolicies).toEqual(at(10).managedPolicies);
});

test('the resource count grows with the groups in use (kinds, expressions), not with the targets', () => {
  // Assess: 100 targets already use every group, so 1,000 add nothing.
  expect(at(1000).resources).toBe(at(100).resources);
  expect(at(1000).outputs).toBe(at(100).outputs);
});

test('one schedule per group at 1,000 targets: backups and audits by (kind, expression), drills by (kind, drill expression), plus the archive jobs', () => {
  // Act
  const inputs = thousand.resources('AWS::Scheduler::Schedule').map(([, schedule]) => JSON.parse((schedule.Properties.Target as { Input: string }).Input) as Record<string, unknown>);
  // Assess: three kinds on four expressions and the audits on one; three kinds drill on two expressions.
  expect(inputs.filter((input) => typeof input.lifecycle === 'string' && !String(input.lifecycle).endsWith('Drill'))).toHaveLength(3 * EXPRESSIONS.length + 1);
  expect(inputs.filter((input) => String(input.lifecycle).endsWith('Drill'))).toHaveLength(3 * DRILL_EXPRESSIONS.length);
  expect(inputs.filter((input) => 'target' in input)).toEqual([]);
});

test('cdk-nag AwsSolutions reports nothing unacknowledged at 1,000 targets', () => {
  // Act
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(thousand.app);
  // Assess
  expect(report.violations.map((violation) => `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
});
