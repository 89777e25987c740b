// `npm run rehearse`: the stack as `cdk deploy` would deploy it, run against the sandbox's
// simulators. Each scenario asserts that it succeeded AND that no call was denied by the
// caller's role in the template and no call went where the stack has nothing (problems []).
import { SANDBOX_APPLIANCE_TARGET } from '../../bin/sandbox/appliance/sandbox-round';
import { SANDBOX_NETBOX_TARGET, SANDBOX_RESTORE_INSTANCE } from '../../bin/sandbox/netbox-cloud/sandbox-round';
import { SANDBOX_PROXBOX_TARGET } from '../../bin/sandbox/netbox-proxbox/sandbox-round';
import { SANDBOX_VPS_TARGET } from '../../bin/sandbox/vps/sandbox-round';
import type { JsonValue } from '../../bin/local/local-runner';
import { loadConfigFile } from '../../functions/config/load';
import type { RestoreOptions } from '../../functions/kinds/kind';
import { kindOf } from '../../functions/kinds/registry';
import { SECONDARY, startRehearsal, type Rehearsal, type RehearsalRun, type StackUnderRehearsal } from './engine/rehearsal';
import type { Json, Template } from './engine/template';

let rehearsal: Rehearsal;

beforeAll(async () => {
  rehearsal = await startRehearsal();
  console.log(`rehearsal: synthesized both stacks in ${rehearsal.synthSeconds.toFixed(0)} s`);
}, 900_000);

afterAll(async () => {
  if (rehearsal) {
    const decisions = rehearsal.decisions();
    const pairs = new Set(decisions.map((decision) => `${decision.role.name} ${decision.action}`));
    console.log(`rehearsal: ${decisions.length} calls decided (${pairs.size} distinct role/action pairs, ${new Set(decisions.map((decision) => decision.action)).size} actions), ${decisions.filter((decision) => !decision.allowed).length} denied (all in the tests that remove a permission)`);
  }
  await rehearsal?.stop();
});

/** The restore input the CLI builds for the target (the kind's own rules). */
function restoreInput(targetName: string, options: RestoreOptions, confirm: string): JsonValue {
  const target = loadConfigFile(rehearsal.sandbox.configPath).targets.find((candidate) => candidate.name === targetName);
  const rules = target ? kindOf(target).restore : undefined;
  if (!target || !rules) throw new Error(`no restorable sandbox target ${targetName}`);
  return rules.input(target, options, confirm) as JsonValue;
}

function expectClean(run: RehearsalRun): void {
  expect({ problems: run.problems, outcome: run.outcome.succeeded ? 'succeeded' : `${run.outcome.error}: ${run.outcome.cause}` }).toEqual({ problems: [], outcome: 'succeeded' });
}

function pathOf(run: RehearsalRun): readonly string[] {
  return 'path' in run.outcome ? run.outcome.path : [];
}

const stacks = (): [string, StackUnderRehearsal][] => [
  ['without Object Lock', rehearsal.unlocked],
  ['with Object Lock', rehearsal.locked],
];

describe('what the services do with the roles', () => {
  test('Lambda and Step Functions may assume the roles; every function may write its log group and traces, every state machine its log delivery and traces', async () => {
    // Act
    const problems = [...(await rehearsal.unlocked.platformProblems()), ...(await rehearsal.locked.platformProblems())];

    // Assess
    expect(problems).toEqual([]);
  });
});

describe.each([
  ['without Object Lock', 0],
  ['with Object Lock (GOVERNANCE, enforced by moto S3)', 1],
])('the stack as synthesized, %s', (_label, index) => {
  const stack = (): StackUnderRehearsal => (stacks()[index] as [string, StackUnderRehearsal])[1];

  test('a NetBox Cloud backup, its archive prune included', async () => {
    // Act
    const run = await stack().run('netbox-cloud-backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expectClean(run);
    expect(pathOf(run)).toEqual(expect.arrayContaining(['CopyToArchive', 'PruneArchive']));
  });

  test('an appliance backup, its appliance and archive prunes included', async () => {
    // Act
    const run = await stack().run('appliance-backup', { target: SANDBOX_APPLIANCE_TARGET });

    // Assess
    expectClean(run);
    expect(pathOf(run)).toEqual(expect.arrayContaining(['CopyToArchive', 'PruneArchive']));
  });

  test('a VPS backup, recorded in the archive', async () => {
    // Act
    const run = await stack().run('vps-backup', { target: SANDBOX_VPS_TARGET });

    // Assess
    expectClean(run);
    expect(pathOf(run)).toContain('RecordBackup');
  });

  test('a NetBox/Proxbox coverage audit, its report written to the archive', async () => {
    // Act
    const run = await stack().run('netbox-proxbox-audit', { target: SANDBOX_PROXBOX_TARGET });

    // Assess
    expect(run.problems).toEqual([]);
    expect(pathOf(run)).toEqual(expect.arrayContaining(['WriteReport', 'PublishMetrics']));
  });

  test('a NetBox Cloud restore of the latest backup onto the second instance', async () => {
    // Act
    const run = await stack().run('netbox-cloud-restore', restoreInput(SANDBOX_NETBOX_TARGET, { backup: 'latest', to: SANDBOX_RESTORE_INSTANCE }, SANDBOX_RESTORE_INSTANCE));

    // Assess
    expectClean(run);
  });

  test('an appliance restore of the latest archived copy', async () => {
    // Act
    const run = await stack().run('appliance-restore', restoreInput(SANDBOX_APPLIANCE_TARGET, { backup: 'latest' }, SANDBOX_APPLIANCE_TARGET));

    // Assess
    expectClean(run);
  });

  test('a VPS restore of the latest backup', async () => {
    // Act
    const run = await stack().run('vps-restore', restoreInput(SANDBOX_VPS_TARGET, { backup: 'latest' }, SANDBOX_VPS_TARGET));

    // Assess
    expectClean(run);
  });

  test.each([SANDBOX_NETBOX_TARGET, SANDBOX_APPLIANCE_TARGET, SANDBOX_VPS_TARGET])('the restore drill of %s, its child restore execution included', async (target) => {
    // Act
    const kind = target === SANDBOX_NETBOX_TARGET ? 'netbox-cloud' : target === SANDBOX_APPLIANCE_TARGET ? 'appliance' : 'vps';
    const run = await stack().run(`${kind}-drill`, { target });

    // Assess
    expectClean(run);
    expect(run.decisions.map((decision) => decision.action)).toEqual(expect.arrayContaining(['states:StartExecution', 'states:DescribeExecution', 'events:PutRule']));
  });

  test('the NetBox Cloud backup schedule fires its fan-out, which runs the group as child executions', async () => {
    // Act
    const run = await stack().fire('netbox-cloud-backup-');

    // Assess
    expectClean(run);
    expect(run.decisions[0]).toMatchObject({ caller: 'scheduler.amazonaws.com', action: 'sts:AssumeRole', allowed: true });
    expect(run.decisions.filter((decision) => decision.action === 'lambda:InvokeFunction' && decision.caller.endsWith('-fan-out')).length).toBeGreaterThan(0);
  });

  test('the audit schedule fires the audit fan-out, and a drill schedule fires the drill fan-out, which starts the drill machine and its restore', async () => {
    // Act
    const audit = await stack().fire('netbox-proxbox-audit-');
    const drill = await stack().fire('netbox-cloud-drill-');

    // Assess
    expectClean(audit);
    expectClean(drill);
    expect(audit.decisions.filter((decision) => decision.action === 'states:StartExecution').map((decision) => decision.resource)).toEqual([expect.stringMatching(/-netbox-proxbox-audit-fan-out$/), expect.stringMatching(/-netbox-proxbox-audit$/)]);
    expect(drill.decisions.filter((decision) => decision.action === 'states:StartExecution').map((decision) => decision.resource)).toEqual([
      expect.stringMatching(/-netbox-cloud-drill-fan-out$/),
      expect.stringMatching(/-netbox-cloud-drill$/),
      expect.stringMatching(/-netbox-cloud-restore$/),
    ]);
  });

  test('the verify schedule invokes the verify job, which reads every copy back and records it', async () => {
    // Act
    const run = await stack().fire('-verify');

    // Assess
    expectClean(run);
    expect(run.decisions.map((decision) => decision.action)).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject']));
  });

  test('the freshness schedule invokes the freshness check', async () => {
    // Act
    const run = await stack().fire('-freshness');

    // Assess
    expectClean(run);
  });
});

/** The template without the statements of the role's policies that grant the action; how many were removed. */
function withoutStatement(template: Template, functionLogicalIdPrefix: string, action: string): number {
  let removed = 0;
  const roleId = Object.entries(template.Resources).find(([logicalId, resource]) => resource.Type === 'AWS::IAM::Role' && logicalId.startsWith(`${functionLogicalIdPrefix}Role`))?.[0];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' || !resource.Properties) continue;
    const roles = resource.Properties.Roles as { Ref: string }[];
    if (!roles.some((role) => role.Ref === roleId)) continue;
    const document = resource.Properties.PolicyDocument as { Statement: { Action: Json }[] };
    const kept = document.Statement.filter((statement) => ![statement.Action].flat().includes(action));
    removed += document.Statement.length - kept.length;
    document.Statement = kept;
  }
  return removed;
}

describe('the secondary archive (the stack without Object Lock: a bucket reached with the roles, under a key of its own)', () => {
  test('a NetBox Cloud backup is copied to the secondary under its key, every call allowed', async () => {
    // Act
    const run = await rehearsal.unlocked.run('netbox-cloud-backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expectClean(run);
    expect(pathOf(run)).toEqual(expect.arrayContaining(['CopyToArchive', 'CopyToSecondary', 'PruneArchive']));
    const allowed = run.decisions.filter((decision) => decision.allowed && decision.caller.startsWith('CopyToSecondary')).map((decision) => `${decision.action} ${decision.resource}`);
    expect(allowed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^s3:PutObject arn:aws:s3:::${SECONDARY.bucket}/${SECONDARY.prefix}${SANDBOX_NETBOX_TARGET}/\\S+\\.manifest\\.json$`)),
        `kms:GenerateDataKey ${SECONDARY.keyArn}`,
      ]),
    );
  });
});

describe('the rehearsal catches a permission the stack lacks', () => {
  test('without the copy function\'s s3:PutObject statement, the backup fails naming the function, the action and the resource', async () => {
    // Prepare
    let removed = 0;
    const stack = await rehearsal.variant((template) => {
      removed = withoutStatement(template, 'NetboxCloudCopyToArchive', 's3:PutObject');
    });

    // Act
    const run = await stack.run('netbox-cloud-backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(removed).toBe(1);
    expect(run.outcome.succeeded).toBe(false);
    expect(run.problems).toEqual([expect.stringMatching(/^denied: NetboxCloudCopyToArchiveFunction\w+ \(role \S+\) may not s3:PutObject on arn:aws:s3:::offsite-sandbox\/backups\/netbox-sandbox\/\S+: ImplicitlyDenied$/)]);
  });

  test('without the copy function\'s KMS grant, the backup fails naming the function, kms:GenerateDataKey and the archive key', async () => {
    // Prepare
    let removed = 0;
    const stack = await rehearsal.variant((template) => {
      removed = withoutStatement(template, 'NetboxCloudCopyToArchive', 'kms:GenerateDataKey');
    });

    // Act
    const run = await stack.run('netbox-cloud-backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(removed).toBe(1);
    expect(run.outcome.succeeded).toBe(false);
    expect(run.problems).toEqual([expect.stringMatching(/^denied: NetboxCloudCopyToArchiveFunction\w+ \(role \S+\) may not kms:GenerateDataKey on arn:aws:kms:eu-west-1:123456789012:key\/rehearsal-key-archivekey\w+: ImplicitlyDenied$/)]);
  });

  test("without the second copy's key grant, the backup fails as SecondaryCopyFailed naming the function, kms:GenerateDataKey and the secondary's key", async () => {
    // Prepare
    let removed = 0;
    const stack = await rehearsal.variant((template) => {
      removed = withoutStatement(template, 'CopyToSecondary', 'kms:GenerateDataKey');
    });

    // Act
    const run = await stack.run('netbox-cloud-backup', { target: SANDBOX_NETBOX_TARGET });

    // Assess
    expect(removed).toBe(1);
    expect(run.outcome.succeeded ? 'succeeded' : run.outcome.error).toBe('SecondaryCopyFailed');
    expect(run.problems).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^denied: CopyToSecondaryFunction\\w+ \\(role \\S+\\) may not kms:GenerateDataKey on ${SECONDARY.keyArn}: ImplicitlyDenied$`))]));
  });

  test('without the verify job\'s kms:Decrypt, the scheduled verify cannot read a copy, naming the action and the key', async () => {
    // Prepare
    const stack = await rehearsal.variant((template) => {
      withoutStatement(template, 'VerifyArchive', 'kms:Decrypt');
    });

    // Act
    const run = await stack.fire('-verify');

    // Assess
    expect(run.outcome.succeeded).toBe(false);
    expect(run.problems).toContainEqual(expect.stringMatching(/^denied: VerifyArchiveFunction\w+ \(role \S+\) may not kms:Decrypt on arn:aws:kms:eu-west-1:123456789012:key\/rehearsal-key-archivekey\w+: ImplicitlyDenied$/));
  });

  test('without the state machine\'s InvokeFunction grant, the first Task fails naming the machine, the action and the function', async () => {
    // Prepare
    const stack = await rehearsal.variant((template) => {
      const roleId = Object.entries(template.Resources).find(([logicalId, resource]) => resource.Type === 'AWS::IAM::Role' && logicalId.startsWith('VpsBackupStateMachineRole'))?.[0];
      for (const resource of Object.values(template.Resources)) {
        const roles = (resource.Properties?.Roles ?? []) as { Ref: string }[];
        if (resource.Type === 'AWS::IAM::Policy' && roles.some((role) => role.Ref === roleId)) {
          const document = resource.Properties?.PolicyDocument as { Statement: { Action: Json }[] };
          document.Statement = document.Statement.filter((statement) => statement.Action !== 'lambda:InvokeFunction');
        }
      }
    });

    // Act
    const run = await stack.run('vps-backup', { target: SANDBOX_VPS_TARGET });

    // Assess
    expect(run.outcome.succeeded).toBe(false);
    expect(run.problems[0]).toMatch(/^denied: offsite-vps-backup \(role \S+\) may not lambda:InvokeFunction on arn:aws:lambda:eu-west-1:123456789012:function:Offsite-VpsCreateBackupFunction[\w-]+: ImplicitlyDenied$/);
  });

  test('with a handler name the bundle does not export, the first Task fails as Lambda would fail it', async () => {
    // Prepare
    const stack = await rehearsal.variant((template) => {
      const fn = Object.entries(template.Resources).find(([logicalId, resource]) => resource.Type === 'AWS::Lambda::Function' && logicalId.startsWith('VpsCreateBackupFunction'))?.[1];
      if (fn?.Properties) fn.Properties.Handler = 'index.main';
    });

    // Act
    const run = await stack.run('vps-backup', { target: SANDBOX_VPS_TARGET });

    // Assess
    expect(run.outcome).toMatchObject({ succeeded: false, error: 'Runtime.HandlerNotFound', cause: 'index.main is undefined or not exported' });
  });

  test('without the configuration object in its environment, the function cannot find its configuration', async () => {
    // Prepare
    const stack = await rehearsal.variant((template) => {
      const fn = Object.entries(template.Resources).find(([logicalId, resource]) => resource.Type === 'AWS::Lambda::Function' && logicalId.startsWith('VpsCreateBackupFunction'))?.[1];
      delete ((fn?.Properties?.Environment as { Variables: Record<string, Json> }).Variables).OFFSITE_CONFIG_OBJECT;
    });

    // Act
    const run = await stack.run('vps-backup', { target: SANDBOX_VPS_TARGET });

    // Assess
    expect(run.outcome.succeeded).toBe(false);
    expect(`${run.outcome.error}: ${run.outcome.cause}`).toMatch(/offsite\.config\.json/);
  });

  test('with a trust policy naming another schedule group, the schedule cannot start its fan-out', async () => {
    // Prepare
    const stack = await rehearsal.variant((template) => {
      const role = Object.entries(template.Resources).find(([logicalId, resource]) => resource.Type === 'AWS::IAM::Role' && logicalId.startsWith('SchedulesRole'))?.[1];
      const trust = JSON.stringify(role?.Properties?.AssumeRolePolicyDocument).replace(/schedule-group\/default/g, 'schedule-group/offsite');
      if (role?.Properties) role.Properties.AssumeRolePolicyDocument = JSON.parse(trust) as Json;
    });

    // Act
    const run = await stack.fire('netbox-cloud-backup-');

    // Assess
    expect(run.outcome).toMatchObject({ succeeded: false, error: 'AccessDenied' });
    expect(run.problems).toEqual([expect.stringMatching(/^denied: scheduler\.amazonaws\.com \(role Offsite-SchedulesRole\S+\) may not sts:AssumeRole on arn:aws:iam::123456789012:role\/Offsite-SchedulesRole\S+: ImplicitlyDenied$/)]);
  });
});
