// The coverage audit against a REAL NetBox 4.5.10 with netbox-proxbox 0.0.24 (../shared/netbox-kit):
// an estate seeded through NetBox's REST API in the shapes proxbox-api's sync leaves (routine node
// in raw_config, vmid comma strings, prune-backups strings, ProxmoxCluster rows, proxmox_vm_id an
// integer custom field), two Proxmox clusters whose VMIDs overlap, pages of 7 so every list pages.
// The audit runs as the real ASL with the real handlers and as the CLI; the verdicts asserted are
// the ones worked out by hand from the estate below. Also: the NetBox Cloud drill's REST checks.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useConfig } from '../../bin/cli/commands';
import { runLifecycle, type LifecycleOutcome } from '../../bin/local/local-runner';
import { REPO_ROOT } from '../../bin/local/repo-root';
import { startLocalS3, type LocalS3 } from '../../bin/sandbox/local-s3';
import type { NetboxCloudTarget } from '../../functions/kinds/netbox-cloud/config';
import { lifecycleFor } from '../../functions/catalog';
import { runDrillChecks } from '../../functions/drill/checks';
import type { AuditReport } from '../../functions/kinds/netbox-proxbox/coverage';
import { archiveClient } from '../../functions/runtime/archive-client';
import { NO_RETRY_DELAY_MS, readObject } from '../support/harness';
import { nbshell, NetboxSeeder, startNetbox, stopNetbox, type RunningNetbox } from './support/netbox-kit';

const BUCKET = 'offsite-real';
const TARGET = 'nb-real';
/** The same NetBox through a loopback proxy that adds a VM while the VM list's page 2 is read. */
const PROXIED = 'nb-real-proxied';
const TOKEN_ENV = 'OFFSITE_REAL_NETBOX_TOKEN';
const PAGE = 7;

let directory: string;
let envFile: string;
let netbox: RunningNetbox;
let s3: LocalS3;
let proxy: Server;
let configPath: string;
let seeder: NetboxSeeder;
const ids: Record<string, number> = {};
/** VM list requests the proxy saw, by offset ("0" for the first page). */
const proxiedVmPages: string[] = [];
let addWhilePaging: (() => Promise<void>) | undefined;

const hoursAgo = (hours: number): string => new Date(Date.now() - hours * 3_600_000).toISOString();

/**
 * The estate. Cluster A (endpoint pve-a), cluster B (endpoint pve-b), each tied to its NetBox
 * cluster by a ProxmoxCluster row; cluster C is a NetBox cluster nothing ties to an endpoint.
 *
 *   VM        cluster  link            VMID  node    backups
 *   a-web     A        sync-state      100   pve1-a  2 h
 *   a-db      A        sync-state      101   pve1-b  -
 *   a-app     A        proxmox_vm_id   102   -       3 h
 *   a-legacy  A        proxmox_id      103   -       -        (b-db has VMID 103 too, with backups)
 *   a-scratch A        sync-state      104   pve1-a  -        tag no-backup: out of scope
 *   a-tmpl    A        none            -     -       -        no VMID: out of scope
 *   b-web     B        sync-state      100   pve2-a  50 h
 *   b-db      B        proxmox_vm_id   103   -       1 h
 *   b-app     B        proxmox_vm_id   105   -       -
 *   c-orphan  C        proxmox_vm_id   200   -       -
 *
 *   routine  endpoint  selection (raw_config vmid)   raw_config node  prune-backups            state
 *   a-daily  A         100,102,103,105,200            -                keep-daily=7,keep-weekly=4
 *   a-node1  A         100,101                        pve1-a           keep-daily=7
 *   b-daily  B         100,103                        -                keep-daily=3
 *   b-off    B         105                            -                keep-daily=7             disabled
 *
 * Worked out by hand: 8 VMs in scope, 5 covered. Uncovered: a-db (a-node1 runs only on pve1-a),
 * b-app (b-off is disabled; a-daily's 105 is cluster A's), c-orphan (a-daily names 200, but NetBox
 * does not tie cluster C to an endpoint). Findings: a-daily selects unknown VMID 105; b-daily keeps
 * too few; b-off disabled; a-legacy has no backup (b-db's 103 is not its own); b-web's is 50 h old;
 * no routine on all/pool while VMs are uncovered (Proxbox 0.0.24 cannot store one).
 */
async function seed(): Promise<void> {
  const post = (path: string, body: Record<string, unknown>): Promise<number> => seeder.post(path, body);
  // As proxbox-api creates it: an integer field. proxmox_id (the oldest Proxbox link) was text.
  await post('extras/custom-fields/', { name: 'proxmox_vm_id', type: 'integer', object_types: ['virtualization.virtualmachine'] });
  await post('extras/custom-fields/', { name: 'proxmox_id', type: 'text', object_types: ['virtualization.virtualmachine'] });
  ids.tag = await post('extras/tags/', { name: 'no-backup', slug: 'no-backup' });
  const type = await post('virtualization/cluster-types/', { name: 'Proxmox', slug: 'proxmox' });
  for (const letter of ['a', 'b', 'c']) ids[`cluster-${letter}`] = await post('virtualization/clusters/', { name: `cluster-${letter}`, type });
  for (const letter of ['a', 'b']) {
    ids[`pve-${letter}`] = await post('plugins/proxbox/endpoints/proxmox/', { name: `pve-${letter}`, domain: `pve-${letter}.example`, port: 8006, mode: 'cluster' });
    ids[`pc-${letter}`] = await post('plugins/proxbox/proxmox-clusters/', { endpoint: ids[`pve-${letter}`], netbox_cluster: ids[`cluster-${letter}`], name: `cluster-${letter}`, mode: 'cluster' });
  }
  const vm = async (name: string, cluster: 'a' | 'b' | 'c', link: { sync?: [number, string]; vmId?: number; legacy?: string } = {}, tags: number[] = []): Promise<void> => {
    const custom = { ...(link.vmId !== undefined ? { proxmox_vm_id: link.vmId } : {}), ...(link.legacy !== undefined ? { proxmox_id: link.legacy } : {}) };
    ids[name] = await post('virtualization/virtual-machines/', { name, cluster: ids[`cluster-${cluster}`], tags, custom_fields: custom });
    if (link.sync) {
      await post('plugins/proxbox/sync-state/virtual-machines/', {
        virtual_machine: ids[name],
        endpoint: ids[`pve-${cluster}`],
        proxmox_cluster: ids[`pc-${cluster}`],
        proxmox_vm_id: link.sync[0],
        proxmox_node_name: link.sync[1],
        proxmox_vm_type: 'qemu',
      });
    }
  };
  await vm('a-web', 'a', { sync: [100, 'pve1-a'] });
  await vm('a-db', 'a', { sync: [101, 'pve1-b'] });
  await vm('a-app', 'a', { vmId: 102 });
  await vm('a-legacy', 'a', { legacy: '103' });
  await vm('a-scratch', 'a', { sync: [104, 'pve1-a'] }, [ids.tag ?? 0]);
  await vm('a-tmpl', 'a');
  await vm('b-web', 'b', { sync: [100, 'pve2-a'] });
  await vm('b-db', 'b', { vmId: 103 });
  await vm('b-app', 'b', { vmId: 105 });
  await vm('c-orphan', 'c', { vmId: 200 });
  // As proxbox-api's sync stores a job: node and storage null, the job in raw_config.
  const routine = (jobId: string, endpoint: 'a' | 'b', vmids: number[], prune: string, options: { node?: string; enabled?: boolean } = {}): Promise<number> =>
    post('plugins/proxbox/backup-routines/', {
      endpoint: ids[`pve-${endpoint}`],
      job_id: jobId,
      enabled: options.enabled ?? true,
      schedule: '02:00',
      status: 'active',
      selection: vmids,
      raw_config: { id: jobId, type: 'vzdump', schedule: '02:00', storage: 'pbs', vmid: vmids.join(','), 'prune-backups': prune, ...(options.node ? { node: options.node } : {}) },
    });
  await routine('a-daily', 'a', [100, 102, 103, 105, 200], 'keep-daily=7,keep-weekly=4');
  await routine('a-node1', 'a', [100, 101], 'keep-daily=7', { node: 'pve1-a' });
  await routine('b-daily', 'b', [100, 103], 'keep-daily=3');
  await routine('b-off', 'b', [105], 'keep-daily=7', { enabled: false });
  const backup = (name: string, vmid: number, at: string): Promise<number> =>
    post('plugins/proxbox/backups/', { virtual_machine: ids[name], vmid, storage: 'pbs', creation_time: at, format: 'pbs-vm', subtype: 'qemu' });
  await backup('a-web', 100, hoursAgo(2));
  await backup('a-web', 100, hoursAgo(26 * 20));
  await backup('a-app', 102, hoursAgo(3));
  await backup('b-web', 100, hoursAgo(50));
  await backup('b-db', 103, hoursAgo(1));
  await backup('b-db', 103, hoursAgo(25));
}

/** Forwards to NetBox (Host kept, so NetBox's next links point back here); before the VM list's page 2 is served, runs addWhilePaging once. */
async function startProxy(upstream: string): Promise<Server> {
  const target = new URL(upstream);
  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const url = new URL(incoming.url ?? '/', 'http://proxy');
      if (url.pathname === '/api/virtualization/virtual-machines/') {
        proxiedVmPages.push(url.searchParams.get('offset') ?? '0');
        if (url.searchParams.get('offset') === String(PAGE) && addWhilePaging) {
          const add = addWhilePaging;
          addWhilePaging = undefined;
          await add();
        }
      }
      const forwarded = httpRequest({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forwarded.on('error', () => outgoing.destroy());
      incoming.pipe(forwarded);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  const began = Date.now();
  directory = await mkdtemp(join(tmpdir(), 'offsite-real-netbox-'));
  envFile = join(directory, 'netbox-kit.env');
  netbox = await startNetbox(envFile, { maxPageSize: PAGE });
  seeder = new NetboxSeeder(netbox.url, netbox.tokenV1);
  await seed();
  s3 = await startLocalS3({ directory: join(directory, 's3'), buckets: [BUCKET] });
  proxy = await startProxy(netbox.url);
  const coverage = { maxBackupAgeHours: 26, minimumRetention: { keepDaily: 7 }, ignoreTags: ['no-backup'] };
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const config = {
    archive: { bucket: BUCKET, prefix: 'backups/', region: s3.region, endpoint: s3.endpoint, forcePathStyle: true },
    targets: [
      { name: TARGET, kind: 'netbox-proxbox', baseUrl: netbox.url, credentials: { env: TOKEN_ENV }, coverage },
      { name: PROXIED, kind: 'netbox-proxbox', baseUrl: proxyUrl, credentials: { env: TOKEN_ENV }, coverage },
      {
        name: 'nb-cloud',
        kind: 'netbox-cloud',
        baseUrl: 'https://api.cloud.netboxlabs.com',
        orgId: 'org-1',
        instanceId: 'nb-source',
        credentials: { env: 'OFFSITE_REAL_CLOUD_TOKEN' },
        drill: {
          to: 'nb-drill',
          checks: {
            restored: { baseUrl: netbox.url, credentials: { env: TOKEN_ENV } },
            source: { baseUrl: netbox.url, credentials: { env: TOKEN_ENV } },
            objectCounts: [{ path: 'virtualization/virtual-machines' }, { path: 'plugins/proxbox/backup-routines' }],
          },
        },
      },
    ],
  };
  configPath = join(directory, 'offsite.config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  Object.assign(process.env, { [TOKEN_ENV]: netbox.tokenV1, OFFSITE_REAL_CLOUD_TOKEN: 'unused', AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region });
  useConfig(configPath);
  console.log(`real NetBox ${netbox.version}: kit started in ${netbox.startSeconds.toFixed(1)} s, seeded and ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([stopNetbox(envFile), s3?.stop(), new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()))]);
  await rm(directory, { recursive: true, force: true });
}, 120_000);

function audit(target = TARGET): Promise<LifecycleOutcome> {
  return runLifecycle({ lifecycle: lifecycleFor('netbox-proxbox', 'audit'), input: { target }, retryOverridesMs: NO_RETRY_DELAY_MS });
}

async function reportOf(outcome: LifecycleOutcome): Promise<AuditReport> {
  if (!outcome.succeeded) throw new Error(`the audit failed: ${outcome.error ?? '?'} ${outcome.cause ?? ''}`);
  const { reportKey } = outcome.output as { reportKey: string };
  return JSON.parse((await readObject(archiveClient(useConfig(configPath).archive), BUCKET, reportKey)).toString('utf8')) as AuditReport;
}

const findingsOf = (report: Pick<AuditReport, 'findings'>): string[] => report.findings.map((finding) => `${finding.code} ${finding.subject}`).sort();

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a user runs it: the package's `offsite` bin, in its own process. */
function offsite(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const { POWERTOOLS_LOG_LEVEL: _level, ...userEnvironment } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'offsite.cjs'), ...args], { cwd: REPO_ROOT, env: { ...userEnvironment, OFFSITE_CONFIG: configPath, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const EXPECTED_UNCOVERED = ['a-db', 'b-app', 'c-orphan'];
const EXPECTED_FINDINGS = [
  'backup-too-old a-legacy',
  'backup-too-old b-web',
  'retention-below-minimum b-daily',
  'routine-disabled b-off',
  'selection-unknown-vmid a-daily',
  `selection-unstorable ${TARGET}`,
  'vm-uncovered a-db',
  'vm-uncovered b-app',
  'vm-uncovered c-orphan',
];

describe('the audit against a real NetBox 4.5.10 + netbox-proxbox 0.0.24 (the real ASL and handlers)', () => {
  let report: AuditReport;

  beforeAll(async () => {
    report = await reportOf(await audit());
  });

  test('the verdicts worked out by hand: 8 in scope, 5 covered, exactly a-db, b-app and c-orphan uncovered', () => {
    // Assess
    expect([report.virtualMachines, report.covered]).toEqual([8, 5]);
    expect(report.outOfScope).toEqual({ withoutVmid: 1, ignoredByTag: 1 });
    expect(report.uncovered.map((vm) => vm.name)).toEqual(EXPECTED_UNCOVERED);
    expect(findingsOf(report)).toEqual(EXPECTED_FINDINGS);
  });

  test('a routine the sync stored with node null runs only on raw_config.node: a-db on pve1-b is not covered by a-node1', () => {
    // Assess
    expect(report.uncovered.find((vm) => vm.name === 'a-db')?.reasons).toEqual(['a-node1 would select it but runs only for guests on node pve1-a; the VM is on pve1-b']);
    expect(report.rows.find((row) => row.name === 'a-web')?.routines.slice().sort()).toEqual(['a-daily', 'a-node1']);
  });

  test('VMs linked only by a custom field are judged by their own cluster (ProxmoxCluster row), across clusters whose VMIDs overlap', () => {
    // Assess
    const routinesOf = Object.fromEntries(report.rows.map((row) => [row.name, row.routines]));
    expect(routinesOf).toMatchObject({ 'a-app': ['a-daily'], 'a-legacy': ['a-daily'], 'b-db': ['b-daily'], 'b-web': ['b-daily'] });
    expect(report.uncovered.find((vm) => vm.name === 'b-app')?.reasons).toEqual(['b-off selects it but is disabled']);
    expect(report.uncovered.find((vm) => vm.name === 'c-orphan')?.reasons).toEqual([expect.stringContaining('NetBox does not record which Proxmox cluster the VM is on (its NetBox cluster cluster-c is tied to no Proxmox endpoint')]);
  });

  test('backups count only for the VM their row names: a-legacy (VMID 103 on A) has none, although b-db (103 on B) has fresh ones', () => {
    // Assess
    const rowOf = (name: string) => report.rows.find((row) => row.name === name);
    expect(rowOf('a-legacy')).toMatchObject({ covered: true, newestBackupAt: null, findings: ['backup-too-old'] });
    expect(rowOf('b-db')?.findings).toEqual([]);
    expect(rowOf('b-web')?.findings).toEqual(['backup-too-old']);
  });

  test('the report says once that Proxbox 0.0.24 (from /api/status/) cannot store a job on all guests or a pool', () => {
    // Assess
    expect(report.findings.find((finding) => finding.code === 'selection-unstorable')?.message).toContain('Proxbox 0.0.24 (as NetBox\'s /api/status/ names it)');
  });
});

describe('the CLI against the real NetBox', () => {
  test('offsite audit --json with each token form (generated v1, hex v1, v2) exits 1 with the same document', async () => {
    // Act
    const runs = await Promise.all([netbox.tokenV1, netbox.tokenV1Hex, netbox.tokenV2].map((token) => offsite(['audit', TARGET, '--json'], { [TOKEN_ENV]: token })));

    // Assess
    for (const run of runs) {
      expect(run.code).toBe(1);
      const document = JSON.parse(run.stdout) as AuditReport;
      expect(document.uncovered.map((vm) => vm.name)).toEqual(EXPECTED_UNCOVERED);
      expect(findingsOf(document)).toEqual(EXPECTED_FINDINGS);
      expect(`${run.stdout}${run.stderr}`).not.toContain(netbox.tokenV1);
    }
  });

  test('a refused token exits 1 as NotAuthorized, naming the token and quoting NetBox\'s X-Request-ID, never the token', async () => {
    // Prepare
    const wrong = `nbt_${'x'.repeat(12)}.${'y'.repeat(40)}`;

    // Act
    const run = await offsite(['audit', TARGET, '--json'], { [TOKEN_ENV]: wrong });

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('NotAuthorized');
    expect(run.stderr).toContain(TOKEN_ENV);
    expect(run.stderr).toMatch(/Invalid v2 token.*X-Request-ID [0-9a-f-]{36}/);
    expect(run.stderr).not.toContain(wrong);
  });
});

describe('a list that changes while it is read (real NetBox, through a loopback proxy)', () => {
  test('a VM added while page 2 of the VM list is read: the list is read again, and the new VM is in the report', async () => {
    // Prepare: before page 2 is forwarded, a VM that sorts first is created, shifting every page by one.
    addWhilePaging = async () => {
      ids['a-aaa-new'] = await seeder.post('virtualization/virtual-machines/', { name: 'a-aaa-new', cluster: ids['cluster-a'], custom_fields: { proxmox_vm_id: 300 } });
    };
    proxiedVmPages.length = 0;

    // Act
    const outcome = await audit(PROXIED);

    // Assess
    const report = await reportOf(outcome);
    expect(addWhilePaging).toBeUndefined();
    expect(proxiedVmPages.filter((offset) => offset === '0').length).toBeGreaterThanOrEqual(2);
    expect(report.virtualMachines).toBe(9);
    expect(report.uncovered.map((vm) => vm.name)).toEqual(['a-aaa-new', ...EXPECTED_UNCOVERED]);
  });
});

describe('the NetBox Cloud drill\'s REST checks against the real NetBox', () => {
  test('/api/status/ reports the version, and object counts with ?limit=1 agree', async () => {
    // Prepare
    const config = useConfig(configPath);
    const target = config.targets.find((candidate) => candidate.name === 'nb-cloud') as NetboxCloudTarget;
    const copy = { objectKey: 'k', manifestKey: 'm', sourceBackupId: 'b', createdAt: new Date().toISOString(), sha256: null, storage: 'archive' as const, source: { netboxVersion: netbox.version } };

    // Act
    const results = await runDrillChecks(config, target, copy, { restore: { restoreJobId: 'r-1' } });

    // Assess
    expect(results.map((result) => [result.name, result.passed])).toEqual([
      ['restore completed', true],
      ['NetBox version', true],
      ['object count virtualization/virtual-machines', true],
      ['object count plugins/proxbox/backup-routines', true],
    ]);
    expect(results.find((result) => result.name === 'object count plugins/proxbox/backup-routines')?.observed).toBe(4);
  });
});

describe('a routine on all guests, which only the ORM can store in Proxbox 0.0.24', () => {
  test('stored through netbox-kit manage, it covers every guest of its own cluster, and the unstorable-job finding goes', async () => {
    // Prepare
    await nbshell(
      envFile,
      [
        'from netbox_proxbox.models import BackupRoutine, ProxmoxEndpoint',
        'ep = ProxmoxEndpoint.objects.get(name="pve-b")',
        'BackupRoutine.objects.create(endpoint=ep, job_id="b-all", enabled=True, schedule="03:00", status="active", selection=[], raw_config={"id": "b-all", "all": 1, "prune-backups": "keep-daily=7"})',
      ].join('\n'),
    );

    // Act
    const report = await reportOf(await audit());

    // Assess: b-app is now covered; c-orphan's cluster is still unknown, a-db still on the wrong node.
    expect(report.uncovered.map((vm) => vm.name)).toEqual(['a-aaa-new', 'a-db', 'c-orphan']);
    expect(report.rows.find((row) => row.name === 'b-app')?.routines).toEqual(['b-all']);
    expect(report.findings.map((finding) => finding.code)).not.toContain('selection-unstorable');
  });
});
