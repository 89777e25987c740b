import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { GetObjectTaggingCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { localS3Client } from '../../bin/sandbox/local-s3';
import { archiveWriter } from '../../functions/archive/archive-writer';
import { PROTECTED_TAG, setProtection } from '../../functions/archive/prune-protection';
import { localStoreForSuite } from '../support/local-store';
import { readObject } from '../support/harness';
import { recordRequests, type SentRequest } from '../support/s3-requests';

const BUCKET = 'archive-writer-test';
const ROOT = join(__dirname, '..', '..');

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, folder), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

// Every S3 operation that creates or changes an object or its marks.
const S3_WRITE = /\b(Put[A-Za-z]*|CopyObject|CreateMultipartUpload|UploadPart[A-Za-z]*|CompleteMultipartUpload|DeleteObjectTagging|RestoreObject)Command\b|\bnew Upload\(/g;
/** Where a write may be issued: the writer, and the copier's streamed upload of a copy (CRC32 on every part when archive.objectLock is set; test/unit/copier-object-lock.test.ts, test/unit/part-upload.test.ts). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  'functions/archive/archive-writer.ts': ['PutObjectCommand', 'PutObjectLegalHoldCommand', 'PutObjectTaggingCommand', 'DeleteObjectTaggingCommand'],
  'functions/archive/part-upload.ts': ['CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand', 'PutObjectCommand'],
};

describe('the archive writer', () => {
  const local = localStoreForSuite('offsite-archive-writer-', [BUCKET]);

  test('no module but the writer (and the copier streaming a copy) writes into S3', async () => {
    // Prepare
    const files = [...(await sourceFiles('functions')), ...(await sourceFiles('bin'))];

    // Act
    const found: string[] = [];
    for (const file of files) {
      const text = await readFile(join(ROOT, file), 'utf8');
      if (!text.includes('@aws-sdk/client-s3') && !text.includes('@aws-sdk/lib-storage')) continue;
      const code = text.replace(/^\s*(\/\/|\*).*$/gm, '');
      for (const match of code.matchAll(S3_WRITE)) if (!(ALLOWED[file] ?? []).includes(match[0])) found.push(`${file}: ${match[0]}`);
    }

    // Assess
    expect(files.length).toBeGreaterThan(50);
    expect(found).toEqual([]);
  });

  test('a document carries the Content-MD5 of its body, which a locked bucket requires', async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);
    const document = { formatVersion: 1, target: 't', note: 'ünïcödé' };

    // Act
    await archiveWriter(s3, BUCKET).putJson('t/doc.json', document);

    // Assess
    const body = await readObject(s3, BUCKET, 't/doc.json');
    expect(JSON.parse(body.toString('utf8'))).toEqual(document);
    const put = sent.find((entry) => entry.operation === PutObjectCommand.name);
    expect(put?.headers['content-md5']).toBe(createHash('md5').update(body).digest('base64'));
  });

  test('unprotecting a copy whose only tag was the mark deletes the tag set instead of writing an empty one', async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    await archiveWriter(s3, BUCKET).putDocument('t/copy.backup', 'bytes', 'application/octet-stream');
    await setProtection(s3, BUCKET, 't/copy.backup', true, false);
    const sent: SentRequest[] = [];
    recordRequests(s3, sent);

    // Act
    await setProtection(s3, BUCKET, 't/copy.backup', false, false);

    // Assess
    expect(sent.map((entry) => entry.operation)).toEqual(['GetObjectTaggingCommand', 'DeleteObjectTaggingCommand']);
    expect(sent.some((entry) => entry.operation === PutObjectTaggingCommand.name)).toBe(false);
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 't/copy.backup' }));
    expect((tags.TagSet ?? []).filter((tag) => tag.Key === PROTECTED_TAG)).toEqual([]);
  });

  test('unprotecting keeps the other tags of the copy', async () => {
    // Prepare
    const s3 = localS3Client(local.store);
    const writer = archiveWriter(s3, BUCKET);
    await writer.putDocument('t/tagged.backup', 'bytes', 'application/octet-stream');
    await writer.setTags('t/tagged.backup', [{ Key: 'team', Value: 'noc' }, { Key: PROTECTED_TAG, Value: 'true' }]);

    // Act
    await setProtection(s3, BUCKET, 't/tagged.backup', false, false);

    // Assess
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 't/tagged.backup' }));
    expect(tags.TagSet).toEqual([{ Key: 'team', Value: 'noc' }]);
  });
});
