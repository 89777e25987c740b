// `offsite verify <target> [--json]`: every archived copy of the target read back and
// compared with its manifest (docs/design.md, "Command line").
import { verifyTarget, type CopyCheck } from '../../functions/archive/verify';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { primaryPlace } from '../../functions/archive/places';
import { systemClock, type Clock } from '../../functions/shared/clock';
import type { CliIo, CommandResult } from './commands';
import { formatBytes } from './format';

function describe(check: CopyCheck): string {
  if (check.result === 'ok') return `ok       ${check.objectKey}  ${formatBytes(check.expected.sizeBytes)}`;
  if (check.result === 'missing') return `MISSING  ${check.objectKey}  (the manifest is there, the object is not)`;
  return (
    `DIFFERS  ${check.objectKey}  expected ${check.expected.sizeBytes} bytes sha256 ${check.expected.sha256}, ` +
    `found ${check.actual.sizeBytes ?? '?'} bytes sha256 ${check.actual.sha256 ?? '?'}`
  );
}

export async function verifyCommand(config: OffsiteConfig, targetName: string, io: CliIo, options: { json?: boolean; clock?: Clock } = {}): Promise<CommandResult> {
  const target = findTarget(config, targetName);
  const archive = { s3: archiveClient(config.archive), bucket: config.archive.bucket, prefix: config.archive.prefix, kmsKeyArn: primaryPlace(config).kmsKeyArn };
  io.err(`Verifying the archived copies of ${target.name} in s3://${archive.bucket}/${archive.prefix}${target.name}/`);
  const report = await verifyTarget(archive, target.name, options.clock ?? systemClock, options.json ? undefined : (check) => io.out(describe(check)));
  for (const key of report.unreadableManifests) io.err(`warning: manifest ${key} cannot be read; its copy was not verified`);
  const bad = report.copies.filter((check) => check.result !== 'ok');
  if (options.json) io.out(JSON.stringify({ target: report.target, copies: report.copies, unreadableManifests: report.unreadableManifests }));
  else if (report.copies.length === 0) io.out(`No archived copies of ${target.name} to verify (backups the provider holds cannot be read back).`);
  else io.out(`${report.copies.length - bad.length} of ${report.copies.length} copies match their manifests.`);
  for (const check of bad) io.err(`verify failed: ${check.objectKey} ${check.result === 'missing' ? 'is missing' : 'differs from its manifest'}`);
  // A manifest that cannot be read hides a copy nobody checked: that is not "all match".
  for (const key of report.unreadableManifests) io.err(`verify failed: manifest ${key} cannot be read (or names another object), so its copy is unverified`);
  return { exitCode: bad.length > 0 || report.unreadableManifests.length > 0 ? 1 : 0 };
}
