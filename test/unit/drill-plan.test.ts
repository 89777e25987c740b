import { drillCommand } from '../../bin/cli/drill';
import { parseConfig } from '../../functions/config/load';
import { drillStatus } from '../../functions/drill/freshness';
import { drillCheckerOf } from '../../functions/drill/checks';
import { DRILL_LIFECYCLES } from '../../functions/drill/jobs';
import { planDrill } from '../../functions/drill/plan';
import { earlierDrillUploads } from '../../functions/kinds/appliance/drill';
import { KIND_LIST } from '../../functions/kinds/registry';
import { archiveOf, archivedCopy, backup } from '../support/appliance';

const archive = { bucket: 'acme-offsite', prefix: 'backups/', region: 'eu-west-1' };
const netbox = { name: 'netbox-prod', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-1', instanceId: 'nb-a12ff000777', credentials: { env: 'KEY' } };
const appliance = (name: string, baseUrl: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'appliance', baseUrl, auth: { method: 'basic', username: 'admin', password: { env: 'PW' } }, ...extra });
const quiet = { out: () => undefined, err: () => undefined, errStream: process.stderr };
const emptyListing = { copies: [], providerRecords: [], withoutManifest: [], unreadableManifests: [] };

test('a drill onto the target\'s own instance is refused at load, naming drill.to', () => {
  // Act
  const load = () => parseConfig({ archive, targets: [{ ...netbox, drill: { to: 'nb-a12ff000777' } }] }, 'test');

  // Assess
  expect(load).toThrow(/drill\.to.*never the target's own/);
});

test('a vps drill onto its own server is refused at load, naming drill.to', () => {
  expect(() =>
    parseConfig({ archive, targets: [{ name: 'web-01', kind: 'vps', baseUrl: 'https://admin.vps.example', serverId: 12345, credentials: { env: 'T' }, drill: { to: 12345 } }] }, 'test'),
  ).toThrow(/drill\.to/);
});

test('object counts without a source instance are refused, naming checks.source', () => {
  const restored = { baseUrl: 'https://nb-b.example', credentials: { env: 'RT' } };
  expect(() => parseConfig({ archive, targets: [{ ...netbox, drill: { to: 'nb-b', checks: { restored, objectCounts: [{ path: 'dcim/devices' }] } } }] }, 'test')).toThrow(/source/);
});

test('an appliance drill onto another target name for the same box is refused before any call (DrillRefused); the CLI exits 2', async () => {
  // Prepare
  const config = parseConfig(
    { archive, targets: [appliance('ar-prod', 'https://ar.example.net', { drill: { to: 'ar-alias' } }), appliance('ar-alias', 'https://AR.example.net/')] },
    'test',
  );
  const errors: string[] = [];

  // Act
  const plan = () => planDrill(config, config.targets[0] as never, emptyListing, new Map(), new Date());
  const result = await drillCommand(config, 'ar-prod', { ...quiet, err: (line) => errors.push(line) });

  // Assess
  expect(plan).toThrow(expect.objectContaining({ name: 'DrillRefused' }));
  expect(result.exitCode).toBe(2);
  expect(errors.join('\n')).toMatch(/same appliance as ar-prod/);
});

test('a target without a drill exits 2 naming the missing drill', async () => {
  const errors: string[] = [];
  const result = await drillCommand(parseConfig({ archive, targets: [netbox] }, 'test'), 'netbox-prod', { ...quiet, err: (line) => errors.push(line) });
  expect(result.exitCode).toBe(2);
  expect(errors.join('\n')).toMatch(/no drill configured/);
});

test('with no verified copy the plan fails as NoCopyToDrill', () => {
  const config = parseConfig({ archive, targets: [{ ...netbox, drill: { to: 'nb-b23ff000888' } }] }, 'test');
  expect(() => planDrill(config, config.targets[0] as never, emptyListing, new Map(), new Date())).toThrow(expect.objectContaining({ name: 'NoCopyToDrill' }));
});

describe('drill freshness', () => {
  const config = parseConfig({ archive, timezone: 'Europe/Berlin', targets: [{ ...netbox, drill: { to: 'nb-b23ff000888', schedule: 'cron(0 4 ? * SUN *)' } }] }, 'test');
  const target = config.targets[0];
  const passed = (finishedAt: string) => ({ last: { key: 'k', outcome: 'passed' as const, finishedAt, summary: '' }, lastPassed: { key: 'k', finishedAt } });

  test('a weekly drill that last passed ten days ago is overdue', () => {
    expect(drillStatus(target as never, config.timezone, passed('2026-03-01T04:10:00Z'), new Date('2026-03-11T12:00:00Z'))).toMatchObject({ state: 'overdue', lastPassedAt: '2026-03-01T04:10:00Z' });
  });

  test('a weekly drill that passed two days ago is ok', () => {
    expect(drillStatus(target as never, config.timezone, passed('2026-03-08T04:10:00Z'), new Date('2026-03-10T12:00:00Z'))).toMatchObject({ state: 'ok' });
  });

  test('a scheduled drill that never passed counts as never (overdue), a failed last drill does not reset it', () => {
    const failedOnly = { last: { key: 'k', outcome: 'check-failed' as const, finishedAt: '2026-03-08T04:10:00Z', summary: '' }, lastPassed: null };
    expect(drillStatus(target as never, config.timezone, failedOnly, new Date('2026-03-10T12:00:00Z'))).toMatchObject({ state: 'never', lastOutcome: 'check-failed' });
  });
});

test('every kind with drill rules has a drill lifecycle and checks', () => {
  const drilling = KIND_LIST.filter((definition) => 'drill' in definition).map((definition) => definition.kind);
  expect(DRILL_LIFECYCLES.map((lifecycle) => lifecycle.kind)).toEqual(drilling);
  const checkers = drilling.map((kind) => ({ kind, checker: drillCheckerOf(kind) }));
  expect(checkers.filter(({ checker }) => checker === undefined).map(({ kind }) => kind)).toEqual([]);
});

test('an appliance drill frees only the lab box\'s uploads of the drilled target\'s archived copies, never the one it restores or the box\'s own backups', () => {
  // Prepare
  const uploadOf = (id: string, backupTime: number) => {
    const copy = archivedCopy(id, { createdAt: new Date(backupTime * 1000).toISOString() });
    const source = { ...copy.manifest.source, backup_time: new Date(backupTime * 1000).toISOString(), serial: 'VE1', hostname: 'ar11-prod' };
    return { copy: { ...copy, manifest: { ...copy.manifest, source } }, held: backup(`lab-${id}`, backupTime, { description: 'uploaded', serial: 'VE1', hostname: 'ar11-prod' }) };
  };
  const older = uploadOf('a', 1_770_000_000);
  const current = uploadOf('b', 1_770_086_400);
  const labsOwn = backup('lab-own', 1_770_090_000, { description: 'nightly (appliance scheduler)', serial: 'VE9', hostname: 'ar11-lab' });

  // Act
  const freed = earlierDrillUploads([older.held, current.held, labsOwn], archiveOf(current.copy, older.copy), current.held.id);

  // Assess
  expect(freed.map((held) => held.id)).toEqual(['lab-a']);
});
