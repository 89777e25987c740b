import { publishAuditMetrics } from '../../functions/kinds/netbox-proxbox/metrics';

// The audit's embedded-metric-format lines: what the coverage-gap alarm of the target's group watches.
test('the uncovered count is published per target and once more under the audit group the alarm watches', () => {
  // Prepare: Powertools writes each metrics document as one line on stdout.
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter((line) => line.startsWith('{')));
    return true;
  });
  const summary = { target: 'netbox-dc1', generatedAt: '2026-01-01T06:00:00Z', virtualMachines: 12, covered: 9, uncovered: 3, findings: { critical: 3, warning: 1, info: 0 } };
  try {
    // Act
    publishAuditMetrics(summary, 'a1b2c3d4', { AWS_LAMBDA_FUNCTION_NAME: 'offsite-publish-metrics' });
  } finally {
    spy.mockRestore();
  }
  // Assess
  const documents = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const withDimension = (name: string) => documents.filter((document) => name in document);
  expect(withDimension('AuditGroup').map((document) => [document.AuditGroup, document.AuditUncoveredVirtualMachines, 'Target' in document])).toEqual([['a1b2c3d4', 3, false]]);
  expect(withDimension('Target').find((document) => !('Severity' in document))).toMatchObject({ Target: 'netbox-dc1', AuditUncoveredVirtualMachines: 3 });
});
