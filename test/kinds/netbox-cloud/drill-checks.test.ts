import { parseConfig } from '../../../functions/config/load';
import type { DrillCopy } from '../../../functions/drill/rules';
import type { NetboxCloudTarget } from '../../../functions/kinds/netbox-cloud/config';
import { netboxCloudDrillChecks } from '../../../functions/kinds/netbox-cloud/drill-checks';

const archive = { bucket: 'acme-offsite', prefix: 'backups/', region: 'eu-west-1' };
const netbox = { name: 'netbox-prod', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-1', instanceId: 'nb-a12ff000777', credentials: { env: 'KEY' } };
const api = (host: string) => ({ baseUrl: `https://${host}.cloud.netboxapp.com`, credentials: { secret: `offsite/${host}-token` } });
const copy: DrillCopy = { objectKey: 'k', manifestKey: 'k.manifest.json', sourceBackupId: 'b-1', createdAt: '2026-01-01T00:00:00Z', sha256: null, storage: 'archive', source: { netboxVersion: '4.2.9' } };

function targetWith(checks: Record<string, unknown>): NetboxCloudTarget {
  const config = parseConfig({ archive, targets: [{ ...netbox, drill: { to: 'nb-c34ff000999', checks: { restored: api('nb-c34ff000999'), source: api('nb-a12ff000777'), ...checks } } }] }, 'test');
  return config.targets[0] as NetboxCloudTarget;
}

/** A REST API that answers /api/status/ with the backup's version and each list with the given count. */
function restApi(counts: Record<string, number>) {
  return { get: async (path: string) => (path === 'status/' ? { 'netbox-version': '4.2.9' } : { count: counts[path], results: [] }) };
}

async function objectCountCheck(checks: Record<string, unknown>, path: string, source: number, restored: number) {
  const results = await netboxCloudDrillChecks(targetWith(checks), copy, {}, { source: restApi({ [path]: source }), restored: restApi({ [path]: restored }) });
  return results.find((result) => result.name === `object count ${path}`);
}

test('object counts as the README writes them: a list of paths sharing checks.tolerancePercent', () => {
  // Prepare, Act
  const target = targetWith({ objectCounts: ['dcim/devices', 'ipam/prefixes'], tolerancePercent: 2 });

  // Assess
  expect(target.drill?.checks?.objectCounts).toEqual([
    { path: 'dcim/devices', tolerancePercent: 2 },
    { path: 'ipam/prefixes', tolerancePercent: 2 },
  ]);
});

test('a path may carry its own tolerance, mixed with plain paths that take the shared one (default 0)', () => {
  // Prepare, Act
  const mixed = targetWith({ objectCounts: ['dcim/devices', { path: 'ipam/prefixes', tolerancePercent: 5 }, { path: 'dcim/sites' }], tolerancePercent: 1 });
  const withoutShared = targetWith({ objectCounts: ['dcim/devices'] });

  // Assess
  expect(mixed.drill?.checks?.objectCounts).toEqual([
    { path: 'dcim/devices', tolerancePercent: 1 },
    { path: 'ipam/prefixes', tolerancePercent: 5 },
    { path: 'dcim/sites', tolerancePercent: 1 },
  ]);
  expect(withoutShared.drill?.checks?.objectCounts).toEqual([{ path: 'dcim/devices', tolerancePercent: 0 }]);
});

test.each([
  [{ objectCounts: [42] }, /drill\.checks\.objectCounts\[0\]: expected a NetBox list path such as "dcim\/devices", or \{ "path"/],
  [{ objectCounts: ['Devices'] }, /drill\.checks\.objectCounts\[0\]: expected a NetBox list path/],
  [{ objectCounts: [{ path: 'dcim/devices', tolerance: 2 }] }, /drill\.checks\.objectCounts\[0\]: .*"tolerance"/],
  [{ objectCounts: ['dcim/devices'], tolerancePercent: 150 }, /drill\.checks\.tolerancePercent: expected at most 100/],
  [{ objectCounts: [{ path: 'dcim/devices', tolerancePercent: -1 }] }, /drill\.checks\.objectCounts\[0\]\.tolerancePercent: expected 0 or more/],
])('bad object counts are refused naming the field: %j', (checks, message) => {
  // Prepare, Act
  const load = () => targetWith(checks);

  // Assess
  expect(load).toThrow(message);
});

test.each([
  // 2 % of 250 is 5 objects: 245..255 are within tolerance, one more either way is not.
  [250, 255, true],
  [250, 245, true],
  [250, 256, false],
  [250, 244, false],
  // 2 % of 249 is 4.98: counts are whole, so 4 objects are allowed.
  [249, 253, true],
  [249, 254, false],
  // 0 objects at the source: only 0 restored is within any tolerance.
  [0, 0, true],
  [0, 1, false],
])('within tolerance includes the boundary: 2%% of %i source objects, %i restored, passes: %s', async (source, restored, passes) => {
  // Prepare, Act
  const check = await objectCountCheck({ objectCounts: ['dcim/devices'], tolerancePercent: 2 }, 'dcim/devices', source, restored);

  // Assess
  expect(check).toMatchObject({ passed: passes, expected: source, observed: restored });
});

test('a fractional tolerance is not cut short by binary fractions: 2.3% of 3000 allows 69', async () => {
  // Prepare, Act
  const check = await objectCountCheck({ objectCounts: [{ path: 'dcim/devices', tolerancePercent: 2.3 }] }, 'dcim/devices', 3000, 3069);

  // Assess
  expect(check).toMatchObject({ passed: true, message: expect.stringContaining('±69') as unknown });
});
