import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../functions/config/load';
import { deployFigures, describeFigures, limitViolations, type DeployFigures, type TemplateJson } from '../support/deploy-limits';
import { fleetConfig } from '../support/fleet-config';
import { synthesize, type SynthesizedStack } from '../support/infra';

// The fleet of test/infra/fleet-scale.test.ts, its archive under a created KMS key with a
// secondary in another region under its own key: the grants per function stay the same
// however many targets, so 1,000 still fit every deploy-time limit.
let thousand: SynthesizedStack;
let figures: DeployFigures;

beforeAll(() => {
  const base = fleetConfig(1000);
  const config = parseConfig(
    {
      ...base,
      archive: {
        ...base.archive,
        kms: 'create',
        secondary: { bucket: 'test-offsite-second', prefix: 'copies/', region: 'eu-central-1', kmsKeyArn: 'arn:aws:kms:eu-central-1:210987654321:key/abcd1234-ab12-cd34-ef56-0987654321ab' },
      },
    },
    'fleet config',
  );
  thousand = synthesize(config, { bundle: false });
  figures = deployFigures(thousand.template.toJSON() as TemplateJson);
  process.stdout.write(`fleet figures with a KMS key and a secondary:\n  1000 targets: ${describeFigures(figures)}\n`);
});

test('1,000 targets with the archive under a KMS key and a secondary stay within every deploy-time limit', () => {
  // Act
  const violations = limitViolations(figures);
  // Assess
  expect(violations).toEqual([]);
});

test('cdk-nag AwsSolutions reports nothing unacknowledged at 1,000 targets with a KMS key and a secondary', () => {
  // Act
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(thousand.app);
  // Assess
  expect(report.violations.map((violation) => `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
});
