import { SANDBOX_NETBOX_TARGET } from '../../bin/sandbox/sandbox';
import { startRehearsal, type Rehearsal } from './engine/rehearsal';

let rehearsal: Rehearsal;

beforeAll(async () => {
  rehearsal = await startRehearsal();
}, 600_000);

afterAll(async () => {
  await rehearsal?.stop();
});

describe('the stack as synthesized, Object Lock off', () => {
  test('a NetBox Cloud backup runs from the bundles with only the permissions the template grants', async () => {
    // Act
    const run = await rehearsal.unlocked.run('netbox-cloud-backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(run.problems).toEqual([]);
    expect(run.outcome).toMatchObject({ succeeded: true });
    expect(run.decisions.length).toBeGreaterThan(0);
    console.log(rehearsal.synthSeconds, run.decisions.length);
  });
});
