import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLifecycle, type LifecycleEvent } from '../../bin/local/local-runner';
import type { LifecycleSpec } from '../../functions/catalog';
import type { FleetSummary } from '../../functions/fleet/fan-out';
import { FAN_OUT_DEFINITION_FILE, LIFECYCLE_STATE_MACHINE_PLACEHOLDER } from '../../functions/fleet/jobs';
import { forgetRuntimeConfig } from '../../functions/runtime/config-source';

// The fan-out ASL run locally: its Map starts each target's lifecycle through
// startExecution.sync:2, which the local runner runs in-process (here a stand-in child
// lifecycle that fails for names ending in -bad).
const CHILD: LifecycleSpec = { id: 'NetboxCloudBackup', kind: 'netbox-cloud', purpose: 'backup', definitionFile: 'test/state-machines/fixtures/fleet-child.asl.json', timeoutHours: 1 };

function netboxTarget(name: string, schedule?: string): Record<string, unknown> {
  return { name, kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-1', instanceId: `nb-${name}`, credentials: { env: 'NB_KEY' }, ...(schedule ? { schedule } : {}) };
}

let dir: string;

function useConfig(targets: Record<string, unknown>[], fleet?: Record<string, unknown>): void {
  const path = join(dir, 'offsite.config.json');
  writeFileSync(path, JSON.stringify({ archive: { bucket: 'test-offsite-archive', region: 'eu-west-1' }, targets, ...(fleet ? { fleet } : {}) }));
  process.env.OFFSITE_CONFIG = path;
  forgetRuntimeConfig();
}

async function runFanOut(input: Record<string, unknown>, onEvent?: (event: LifecycleEvent) => void) {
  return runLifecycle({
    lifecycle: { definitionFile: FAN_OUT_DEFINITION_FILE },
    childLifecycles: { [LIFECYCLE_STATE_MACHINE_PLACEHOLDER]: CHILD },
    input: input as never,
    waitOverridesMs: { Hold: 30, StartJitter: 0 },
    ...(onEvent ? { onEvent } : {}),
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'offsite-fan-out-'));
});

afterEach(() => {
  delete process.env.OFFSITE_CONFIG;
  forgetRuntimeConfig();
  rmSync(dir, { recursive: true, force: true });
});

describe('fan-out (state-machines/fan-out.asl.json)', () => {
  test("one failing target neither stops the others nor hides its failure: the result lists who succeeded and who failed, with the child's error", async () => {
    // Prepare
    useConfig([netboxTarget('nb-a'), netboxTarget('nb-b-bad'), netboxTarget('nb-c'), netboxTarget('nb-d')]);
    const childEnds: string[] = [];
    // Act
    const outcome = await runFanOut({ lifecycle: 'NetboxCloudBackup' }, (event) => {
      if (event.type === 'state-entered' && (event.state === 'Broken' || event.state === 'Done')) childEnds.push(event.state);
    });
    // Assess
    expect(outcome).toMatchObject({ succeeded: true });
    const summary = outcome.output as FleetSummary;
    expect(summary).toMatchObject({ lifecycle: 'NetboxCloudBackup', total: 4, succeeded: ['nb-a', 'nb-c', 'nb-d'] });
    expect(summary.failed).toEqual([expect.objectContaining({ target: 'nb-b-bad', error: 'BackupFailed' })]);
    // The failing child itself ended in its Fail state (so in AWS its own alarm fires).
    expect(childEnds.filter((state) => state === 'Broken')).toHaveLength(1);
  });

  test('a scheduled group runs only the targets of that schedule', async () => {
    // Prepare
    useConfig([netboxTarget('nb-a', 'cron(0 2 * * ? *)'), netboxTarget('nb-b', 'cron(0 3 * * ? *)'), netboxTarget('nb-c', 'cron(0 2 * * ? *)')]);
    // Act
    const outcome = await runFanOut({ lifecycle: 'NetboxCloudBackup', schedule: 'cron(0 2 * * ? *)' });
    // Assess
    expect((outcome.output as FleetSummary).succeeded).toEqual(['nb-a', 'nb-c']);
  });

  test('at most fleet.maxConcurrency targets of the kind run at once', async () => {
    // Prepare
    useConfig(Array.from({ length: 9 }, (_, index) => netboxTarget(`nb-${index}`)), { maxConcurrency: { 'netbox-cloud': 3 } });
    let running = 0;
    let peak = 0;
    // Act: an iteration runs from entering RunTargetLifecycle until entering its result state.
    const outcome = await runFanOut({ lifecycle: 'NetboxCloudBackup' }, (event) => {
      if (event.type !== 'state-entered') return;
      if (event.state === 'RunTargetLifecycle') peak = Math.max(peak, ++running);
      if (event.state === 'TargetSucceeded' || event.state === 'RecordTargetFailure') running -= 1;
    });
    // Assess
    expect((outcome.output as FleetSummary).succeeded).toHaveLength(9);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });

  test('an input naming another lifecycle fails in PlanFailed and starts nothing', async () => {
    // Prepare
    useConfig([netboxTarget('nb-a')]);
    // Act
    const outcome = await runFanOut({ lifecycle: 'ApplianceBackup' });
    // Assess
    expect(outcome).toMatchObject({ succeeded: false, error: 'InvalidInput' });
    expect(outcome.path).toEqual(['PlanFleetRun', 'PlanFailed']);
  });
});
