import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSandboxEnvironment, type SandboxEnvironment } from '../../bin/sandbox/sandbox';
import { archiveClient } from '../../functions/runtime/archive-client';
import { loadConfigFile } from '../../functions/config/load';
import { readObject, SANDBOX_BUCKET, sha256 } from '../support/harness';
import { SANDBOX_RESTORE_INSTANCE } from '../../bin/sandbox/netbox-cloud/sandbox-round';
import { runOffsite, spawnOffsite, type CliRun } from '../support/cli';

// The CLI as a user runs it: the package's `offsite` bin, in its own process.
describe('offsite CLI against the sandbox', () => {
  let sandbox: SandboxEnvironment;
  const outputs: string[] = [];
  const run = async (args: string[], env: Readonly<Record<string, string>> = sandbox.env): Promise<CliRun> => {
    const result = await runOffsite(args, env);
    outputs.push(result.stdout, result.stderr);
    return result;
  };

  beforeAll(async () => {
    sandbox = await startSandboxEnvironment({
      netboxCloud: { backupRequestDurationMs: 300, retrievalDurationMs: 200, restoreDurationMs: 300, redeployDelayMs: 100 },
      appliance: { backupDurationMs: 300, rebootWindowMs: 1500 },
      poll: { initialSeconds: 1, maxSeconds: 1, timeoutMinutes: 1 },
    });
    // This process reads the archive too, with the same local credentials the CLI gets.
    Object.assign(process.env, sandbox.env);
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  test('backup exits 0 and prints the archive key of a byte-identical copy', async () => {
    // Act
    const result = await run(['backup', 'netbox-sandbox']);

    // Assess
    expect(result.stderr).not.toContain("failed");
    expect(result.code).toBe(0);
    const key = /^archived netbox-sandbox: (\S+)$/m.exec(result.stdout)?.[1];
    expect(key).toMatch(/^backups\/netbox-sandbox\/.+\.backup$/);
    expect(result.stderr).toMatch(/→ RequestBackup\n(.|\n)*→ CopyToArchive\n(.|\n)*copied 256\.0 KiB of 256\.0 KiB \(100%\)/);
    const produced = sandbox.netboxCloud.listBackups().find((backup) => backup.trigger_type === 'manual');
    const s3 = archiveClient(loadConfigFile(sandbox.configPath).archive);
    expect(sha256(await readObject(s3, SANDBOX_BUCKET, key ?? ''))).toBe(sha256(sandbox.netboxCloud.backupBytes(produced?.id ?? '')));
  });

  test('list shows the archived copy with its size and sha256', async () => {
    // Act
    const result = await run(['list', 'netbox-sandbox', '--json']);

    // Assess
    expect(result.code).toBe(0);
    const listing = JSON.parse(result.stdout) as { copies: { manifest: { sizeBytes: number; sha256: string; sourceBackupId: string } }[] };
    const produced = sandbox.netboxCloud.listBackups().find((backup) => backup.trigger_type === 'manual');
    expect(listing.copies.map((copy) => copy.manifest)).toEqual([
      expect.objectContaining({ sourceBackupId: produced?.id, sizeBytes: 256 * 1024, sha256: sha256(sandbox.netboxCloud.backupBytes(produced?.id ?? '')) }),
    ]);
  });

  test('restore --backup latest --to <instance> --yes exits 0 once the job completes', async () => {
    // Act
    const result = await run(['restore', 'netbox-sandbox', '--backup', 'latest', '--to', SANDBOX_RESTORE_INSTANCE, '--yes']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`restored netbox-sandbox backup \\S+ .* onto ${SANDBOX_RESTORE_INSTANCE}`));
    const job = sandbox.netboxCloud.listRestoreJobs().at(-1);
    expect(job).toMatchObject({ target_nb_id: SANDBOX_RESTORE_INSTANCE, failed: null });
  });

  test('restore onto an instance whose version is unavailable exits 1 and says why', async () => {
    // Prepare
    sandbox.netboxCloud.setVersionAvailable(SANDBOX_RESTORE_INSTANCE, false);

    // Act
    const result = await run(['restore', 'netbox-sandbox', '--backup', 'latest', '--to', SANDBOX_RESTORE_INSTANCE, '--yes']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/failed: TargetVersionUnavailable\n {2}NetBox Cloud refused the restore \(HTTP 422\): the target instance cannot run the NetBox version of this backup/);
    sandbox.netboxCloud.setVersionAvailable(SANDBOX_RESTORE_INSTANCE, true);
  });

  test('restore without --yes refuses before any API call', async () => {
    // Prepare
    const before = sandbox.netboxCloud.requests.length;

    // Act
    const result = await run(['restore', 'netbox-sandbox', '--backup', 'latest']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Nothing was restored: restoring overwrites nb-a12ff000777. Pass --yes');
    expect(sandbox.netboxCloud.requests.length).toBe(before);
  });

  test('an unknown target exits 2 and lists the configured ones', async () => {
    // Act
    const result = await run(['backup', 'netbox-prod']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown target "netbox-prod". Configured targets: netbox-sandbox, appliance-sandbox, appliance-lab-sandbox, vps-sandbox, netbox-proxbox-sandbox.');
  });

  test('an invalid configuration exits 2 naming the field and the value', async () => {
    // Prepare
    const badConfig = join(sandbox.directory, 'bad.config.json');
    const config = loadConfigFile(sandbox.configPath);
    await writeFile(badConfig, JSON.stringify({ ...config, archive: { ...config.archive, region: 'europe' } }));

    // Act
    const result = await run(['--config', badConfig, 'list', 'netbox-sandbox']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('archive.region: expected an AWS region such as eu-west-1 (got "europe")');
  });

  test('appliance backup exits 0 and the archived copy equals the appliance\'s file byte for byte', async () => {
    // Act
    const result = await run(['backup', 'appliance-sandbox']);

    // Assess
    expect(result.code).toBe(0);
    const key = /^archived appliance-sandbox: (\S+)$/m.exec(result.stdout)?.[1] ?? '';
    expect(key).toMatch(/^backups\/appliance-sandbox\/.+\.tgz$/);
    const made = sandbox.appliance.backups().find((backup) => backup.description.startsWith('Made by offsite'));
    const s3 = archiveClient(loadConfigFile(sandbox.configPath).archive);
    expect(sha256(await readObject(s3, SANDBOX_BUCKET, key))).toBe(sha256(sandbox.appliance.backupBytes(made?.id ?? '')));
  });

  test('appliance backup whose pruning fails exits 0, prints the archived copy and warns that pruning is tried next run', async () => {
    // Prepare: the next backup makes the first one surplus (backup_time has whole seconds), and
    // deleting it is refused (a 409 is not retried, so the CLI does not wait out the backoff).
    await new Promise((resolve) => setTimeout(resolve, 1001 - (Date.now() % 1000)));
    sandbox.appliance.failNextDeletes(1, 409);

    // Act
    const result = await run(['backup', 'appliance-sandbox']);
    sandbox.appliance.failNextDeletes(0);

    // Assess
    expect(result.code).toBe(0);
    const key = /^archived appliance-sandbox: (\S+)$/m.exec(result.stdout)?.[1] ?? '';
    expect(key).toMatch(/^backups\/appliance-sandbox\/.+\.tgz$/);
    expect(result.stderr).toContain('warning: appliance-sandbox is archived and verified, but pruning failed (PruneFailed)');
    expect(result.stdout).toContain(`note      The backup is archived and verified as ${key}. Deleting older offsite-made backups from the appliance failed`);
    expect(result.stdout).toContain('is tried again after the next backup');
  });

  test('appliance restore from the archive onto an appliance without the backup uploads identical bytes, rides out the reboot and exits 0', async () => {
    // Prepare: replaced hardware
    sandbox.appliance.deleteAllBackups();
    const listing = JSON.parse((await run(['list', 'appliance-sandbox', '--json'])).stdout) as { copies: { manifest: { sha256: string } }[] };

    // Act
    const result = await run(['restore', 'appliance-sandbox', '--backup', 'latest', '--yes']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('uploaded from the archive');
    expect(result.stdout).toMatch(/rebooted \([1-9]\d* check\(s\) found it unreachable\)/);
    expect(sandbox.appliance.restores.at(-1)?.sha256).toBe(listing.copies[0]?.manifest.sha256);
  });

  test('appliance restore that ends completed_with_errors exits 1 with the appliance\'s message', async () => {
    // Prepare
    sandbox.appliance.setRestoreOutcome('completed_with_errors', 'Restore completed with errors: 2 configuration items could not be applied');

    // Act
    const result = await run(['restore', 'appliance-sandbox', '--backup', 'latest', '--yes']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RestoreFailed');
    expect(result.stderr).toContain('Restore completed with errors: 2 configuration items could not be applied');
    sandbox.appliance.setRestoreOutcome('completed');
  });

  test('an appliance backup without its CA bundle fails on the certificate, and with verification turned off it works and warns', async () => {
    // Prepare
    const config = loadConfigFile(sandbox.configPath);
    const withTls = (tls: unknown): unknown => ({ ...config, targets: config.targets.map((target) => (target.kind === 'appliance' ? { ...target, tls } : target)) });
    const untrusted = join(sandbox.directory, 'untrusted.config.json');
    const insecure = join(sandbox.directory, 'insecure.config.json');
    await writeFile(untrusted, JSON.stringify(withTls(undefined)));
    await writeFile(insecure, JSON.stringify(withTls({ dangerouslyDisableCertificateVerification: true })));

    // Act
    const refused = await run(['--config', untrusted, 'backup', 'appliance-sandbox']);
    const allowed = await run(['--config', insecure, 'backup', 'appliance-sandbox']);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("CertificateRejected");
    expect(refused.stderr).toContain("Give the CA that signed it in tls.ca");
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('WARNING: TLS certificate verification is OFF for appliance-sandbox');
  });

  test('appliance restore with --to exits 2 before any call', async () => {
    // Prepare
    const before = sandbox.appliance.requests.length;

    // Act
    const result = await run(['restore', 'appliance-sandbox', '--backup', 'latest', '--to', 'elsewhere', '--yes']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--to is not available for appliance targets');
    expect(sandbox.appliance.requests.length).toBe(before);
  });

  test("on Node 20 no command prints the AWS SDK's Node version warning", () => {
    // Assess
    expect(outputs.length).toBeGreaterThanOrEqual(24);
    for (const output of outputs) expect(output).not.toMatch(/NodeVersionSupportWarning|will require node/);
  });

  test('no API key, password, token or presigned URL appears in any output', () => {
    // Prepare
    const secrets = [
      sandbox.netboxCloud.apiKey,
      sandbox.appliance.password,
      ...sandbox.appliance.issuedTokens,
      ...sandbox.netboxCloud.listRetrievals().flatMap((retrieval) => {
        if (!retrieval.presigned_url) return [];
        const url = new URL(retrieval.presigned_url);
        return [retrieval.presigned_url, url.search, url.searchParams.get('X-Amz-Signature') ?? retrieval.presigned_url];
      }),
    ];

    // Assess
    expect(outputs.length).toBeGreaterThanOrEqual(24);
    expect(sandbox.appliance.issuedTokens.length).toBeGreaterThan(0);
    expect(secrets.length).toBeGreaterThan(1);
    for (const secret of secrets) {
      for (const output of outputs) expect(output).not.toContain(secret);
    }
  });
});

/** The value of one word of the env file as the shell reads it: a JSON value (the secondary's key) is single-quoted there. */
function shellWordValue(word: string): string {
  return word.startsWith("'") && word.endsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word;
}

describe('offsite sandbox --serve', () => {
  test('keeps the sandbox running after the round, prints the commands to try, and they work until Ctrl-C', async () => {
    // Prepare
    const child = spawnOffsite(['sandbox', '--serve']);
    child.stdin.end();
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const secrets: string[] = [];
    try {
      while (!stdout.includes('aws stepfunctions list-executions')) {
        if (child.exitCode !== null) throw new Error(`the sandbox ended early:\n${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const envFile = /set -a && \. (\S+) && set \+a/.exec(stdout)?.[1] ?? '';
      const env = Object.fromEntries(
        readFileSync(envFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => [line.slice(0, line.indexOf('=')), shellWordValue(line.slice(line.indexOf('=') + 1))]),
      ) as Record<string, string>;
      secrets.push(env.OFFSITE_SANDBOX_NETBOX_CLOUD_KEY ?? '', env.OFFSITE_SANDBOX_APPLIANCE_PASSWORD ?? '');

      // Act: a printed command, run against the running sandbox.
      expect(stdout).toContain('    npm run offsite -- list netbox-sandbox');
      const listed = await runOffsite(['list', 'netbox-sandbox', '--json'], env);

      // Act: the local Step Functions endpoint it keeps running, as printed.
      const endpoint = /local Step Functions endpoint \(stack \S+\): --endpoint (\S+)/.exec(stdout)?.[1] ?? '';
      const remote = await runOffsite(['backup', 'netbox-sandbox', '--remote', '--endpoint', endpoint], env);
      const executions = await runOffsite(['executions', 'netbox-sandbox', '--endpoint', endpoint, '--json'], env);

      // Assess
      expect(listed.code).toBe(0);
      expect((JSON.parse(listed.stdout) as { copies: unknown[] }).copies).toHaveLength(1);
      expect(stdout).toContain(`    npm run offsite -- executions netbox-sandbox --endpoint ${endpoint}`);
      expect(remote.code).toBe(0);
      expect(executions.code).toBe(0);
      expect(executions.stdout).toMatch(/netbox-sandbox_backup_.*SUCCEEDED/);
    } finally {
      child.kill('SIGINT');
      expect(await closed).toBe(0);
      clearTimeout(timer);
    }
    expect(stdout).toContain('Stopping the sandbox.');
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(stdout).not.toContain(secret);
  }, 150_000);
});


describe('offsite backup when the vendor listing contradicts itself', () => {
  let sandbox: SandboxEnvironment;

  beforeAll(async () => {
    sandbox = await startSandboxEnvironment({ netboxCloud: { backupRequestDurationMs: 300, retrievalDurationMs: 200 }, poll: { initialSeconds: 1, maxSeconds: 1, timeoutMinutes: 1 } });
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  test('a listing that already holds the backup sought is used: exit 0, and the warning on stderr and in --json', async () => {
    // Prepare: page 2 of the backup list repeats page 1, which holds every backup.
    sandbox.netboxCloud.repeatFirstPage('/backups/');

    // Act
    const result = await runOffsite(['backup', 'netbox-sandbox', '--json'], { ...sandbox.env, POWERTOOLS_LOG_LEVEL: 'SILENT' });

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: NetBox Cloud: list backups: page 2 repeats .*inconsistent pagination; the item sought is already listed/m);
    expect((JSON.parse(result.stdout) as { warnings?: string[] }).warnings).toEqual([expect.stringMatching(/the item sought is already listed/)]);
  });
});
