import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupAllCommand } from '../../bin/cli/backup-all';
import { useConfig, type CliIo } from '../../bin/cli/commands';
import { FAST_WAITS_MS, NO_RETRY_DELAY_MS, startHarness, type Harness } from '../support/harness';

// `offsite backup --all` against the NetBox Cloud simulator: the fan-out in this process,
// one child backup per target, the concurrency bound as the simulator counts open requests.
const INSTANCES = Array.from({ length: 6 }, (_, index) => `nb-fleet${index}`);

let harness: Harness;

beforeEach(async () => {
  harness = await startHarness({ netboxCloud: { instances: INSTANCES.map((id) => ({ id, version: 'v4.2.1' })), seedBackupsPerInstance: 1, responseLatencyMs: 10 } });
});

afterEach(async () => {
  await harness.stop();
});

function fleetConfig(extraInstances: string[], maxConcurrency: number): string {
  const template = harness.config.targets.find((target) => target.kind === 'netbox-cloud');
  if (!template) throw new Error('no netbox-cloud target in the sandbox');
  const targets = [...INSTANCES, ...extraInstances].map((instanceId, index) => ({ ...template, name: `nb-fleet-${index}`, instanceId, schedule: 'cron(0 2 * * ? *)' }));
  const path = join(harness.sandbox.directory, 'fleet.config.json');
  const { fleet: _fleet, ...base } = harness.config;
  writeFileSync(path, JSON.stringify({ ...base, targets, fleet: { maxConcurrency: { 'netbox-cloud': maxConcurrency } } }));
  return path;
}

function captureIo(): CliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { out: (line) => outLines.push(line), err: (line) => errLines.push(line), errStream: process.stderr, outLines, errLines };
}

const waits = { ...FAST_WAITS_MS, StartJitter: 0 };

test('backs up every target through the fan-out with at most maxConcurrency open vendor calls, a line per target and a table; exit 0', async () => {
  // Prepare
  const config = useConfig(fleetConfig([], 2));
  const io = captureIo();
  harness.sandbox.netboxCloud.calls.resetMax();
  // Act
  const result = await backupAllCommand(config, io, { waitOverridesMs: waits, retryOverridesMs: NO_RETRY_DELAY_MS });
  // Assess
  expect(result.exitCode).toBe(0);
  expect(result.rows.map((row) => [row.target, row.result])).toEqual(INSTANCES.map((_, index) => [`nb-fleet-${index}`, 'ok']));
  expect(harness.sandbox.netboxCloud.calls.maxInFlight).toBeLessThanOrEqual(2);
  expect(harness.sandbox.netboxCloud.calls.maxInFlight).toBeGreaterThanOrEqual(1);
  for (const name of result.rows.map((row) => row.target)) expect(io.errLines).toContain(`→ ${name} (netbox-cloud) started`);
  expect(io.outLines[0]).toMatch(/^TARGET\s+KIND\s+RESULT\s+SECONDS\s+ERROR$/);
  expect(io.outLines.at(-1)).toBe('6 of 6 target(s) backed up');
});

test('a failing target is reported with its error and the command exits 1, while every other target is backed up', async () => {
  // Prepare: the last target names an instance the vendor does not have.
  const config = useConfig(fleetConfig(['nb-gone'], 3));
  const io = captureIo();
  // Act
  const result = await backupAllCommand(config, io, { kind: 'netbox-cloud', waitOverridesMs: waits, retryOverridesMs: NO_RETRY_DELAY_MS });
  // Assess
  expect(result.exitCode).toBe(1);
  expect(result.rows.filter((row) => row.result === 'ok')).toHaveLength(6);
  expect(result.rows.filter((row) => row.result === 'FAILED').map((row) => row.target)).toEqual(['nb-fleet-6']);
  expect(io.errLines.some((line) => line.startsWith('✘ nb-fleet-6 failed: '))).toBe(true);
  expect(io.outLines.at(-1)).toBe('6 of 7 target(s) backed up, 1 failed');
});

test('--concurrency outside 1..40 is refused before anything runs', async () => {
  // Prepare
  const config = useConfig(fleetConfig([], 2));
  // Act / Assess
  await expect(backupAllCommand(config, captureIo(), { concurrency: 0 })).rejects.toThrow('--concurrency: expected a whole number from 1 to 40 (got 0)');
  expect(harness.sandbox.netboxCloud.calls.total).toBe(0);
});
