// `offsite protect|unprotect <target> <objectKey>`: the mark retention never removes a
// copy under (an object tag, or a legal hold where archive.objectLock is set).
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { manifestKeyFor } from '../../functions/archive/manifest';
import { setProtection } from '../../functions/archive/prune-protection';
import { findTarget } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';
import { archiveClient } from '../../functions/runtime/archive-client';
import { InvalidInput } from '../../functions/shared/errors';
import type { CliIo, CommandResult } from './commands';

export async function protectCommand(config: OffsiteConfig, targetName: string, objectKey: string, io: CliIo, options: { readonly protect: boolean }): Promise<CommandResult> {
  const target = findTarget(config, targetName);
  const targetPrefix = `${config.archive.prefix}${target.name}/`;
  if (!objectKey.startsWith(targetPrefix) || objectKey.endsWith('.manifest.json')) {
    throw new InvalidInput(`"${objectKey}" is not an archived copy of ${target.name}: give the object key \`offsite list ${target.name}\` shows (it starts with ${targetPrefix}).`);
  }
  const s3 = archiveClient(config.archive);
  // Only a copy (an object with its manifest) is a backup; refuse anything else by name.
  try {
    await s3.send(new HeadObjectCommand({ Bucket: config.archive.bucket, Key: manifestKeyFor(objectKey) }));
  } catch {
    throw new InvalidInput(`"${objectKey}" has no manifest in s3://${config.archive.bucket}/: it is not an archived copy of ${target.name}.`);
  }
  const objectLock = config.archive.objectLock !== undefined;
  await setProtection(s3, config.archive.bucket, objectKey, options.protect, objectLock);
  io.err(`${options.protect ? 'protected' : 'unprotected'} (${objectLock ? 'legal hold on the object and its manifest' : `object tag offsite:protected`})`);
  io.out(objectKey);
  return { exitCode: 0 };
}
