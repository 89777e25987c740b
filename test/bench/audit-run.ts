// Child process: one whole audit lifecycle run locally (the real ASL and handlers, the
// lists through the local S3 store), measured for time and peak memory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lifecycleFor } from '../../functions/catalog';
import { runLifecycle } from '../../bin/local/local-runner';
import { measureAndReply, receiveJob, startRssSampler, type MemoryFigures } from './bench-child';

export interface AuditRunJob {
  readonly netboxUrl: string;
  readonly token: string;
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly workDir: string;
}
export interface AuditRunResult {
  readonly type: 'result';
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
  readonly memory: MemoryFigures;
  readonly virtualMachines: number;
  readonly uncovered: number;
}

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<AuditRunJob>();
  const configPath = join(job.workDir, 'audit.config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      archive: { bucket: job.bucket, prefix: 'bench/', region: job.region, endpoint: job.endpoint, forcePathStyle: true },
      targets: [{ name: 'netbox-bench', kind: 'netbox-proxbox', baseUrl: job.netboxUrl, credentials: { env: 'BENCH_NETBOX_TOKEN' }, coverage: { maxBackupAgeHours: 26, ignoreTags: ['no-backup'] } }],
    }),
  );
  process.env.OFFSITE_CONFIG = configPath;
  process.env.BENCH_NETBOX_TOKEN = job.token;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  await measureAndReply<AuditRunResult>(
    sampler,
    async () => {
      const outcome = await runLifecycle({ lifecycle: lifecycleFor('netbox-proxbox', 'audit'), input: { target: 'netbox-bench' } });
      if (!outcome.succeeded) throw new Error(`${outcome.error ?? '?'}: ${outcome.cause ?? ''}`);
      const { summary } = outcome.output as { summary: { virtualMachines: number; uncovered: number } };
      return { virtualMachines: summary.virtualMachines, uncovered: summary.uncovered };
    },
    () => undefined,
  );
}

void main();
