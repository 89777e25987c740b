import { ConfigError, parseConfig } from '../../functions/config/load';
import { ARCHIVE_KMS_KEY_ENV, archivePlaces, encryptionParams, keyInPlace, primaryPlace, secondaryPlace } from '../../functions/archive/places';
import { CredentialsUnavailable } from '../../functions/shared/errors';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function configWith(archive: Record<string, unknown>) {
  return parseConfig(
    {
      archive: { bucket: 'acme-offsite', prefix: 'backups/', region: 'eu-west-1', ...archive },
      targets: [{ name: 'nb', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'o', instanceId: 'i', credentials: { env: 'K' } }],
    },
    'test',
  );
}

const secondary = { bucket: 'acme-offsite-copy', prefix: 'second/', region: 'eu-central-1', endpoint: 'http://127.0.0.1:4569' };

describe('archive places', () => {
  test('a configuration without a secondary has the primary only', async () => {
    // Prepare
    const config = configWith({});

    // Act
    const places = await archivePlaces(config, {});

    // Assess
    expect(places.map((place) => [place.name, place.bucket, place.prefix, place.url])).toEqual([['primary', 'acme-offsite', 'backups/', 's3://acme-offsite/backups/']]);
  });

  test('a secondary is the second place, under its own prefix and lock setting', async () => {
    // Prepare
    const config = configWith({ secondary: { ...secondary, objectLock: { mode: 'GOVERNANCE', days: 30 } } });

    // Act
    const places = await archivePlaces(config, {});

    // Assess
    expect(places.map((place) => [place.name, place.bucket, place.prefix, place.objectLock])).toEqual([
      ['primary', 'acme-offsite', 'backups/', false],
      ['secondary', 'acme-offsite-copy', 'second/', true],
    ]);
  });

  test('a key moves between places by swapping the prefix', () => {
    // Act
    const moved = keyInPlace('backups/nb/2026-01-01T00-00-00Z_1.tar.gz', { prefix: 'backups/' }, { prefix: 'second/' });

    // Assess
    expect(moved).toBe('second/nb/2026-01-01T00-00-00Z_1.tar.gz');
  });

  test('a key outside the source prefix is refused', () => {
    // Act / Assess
    expect(() => keyInPlace('other/nb/x', { prefix: 'backups/' }, { prefix: '' })).toThrow('is not under the prefix "backups/"');
  });

  test("the secondary's access key is read from the JSON its variable holds", async () => {
    // Prepare
    const config = configWith({ secondary: { ...secondary, credentials: { env: 'SECONDARY_KEY' } } });

    // Act
    const place = await secondaryPlace(config, { SECONDARY_KEY: '{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"wJalrEXAMPLE"}' });

    // Assess
    await expect(place?.s3.config.credentials()).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrEXAMPLE' });
  });

  test.each([
    ['not set', {}, 'is not set'],
    ['not JSON', { SECONDARY_KEY: 'AKIDEXAMPLE' }, 'is not JSON'],
    ['lacking a field', { SECONDARY_KEY: '{"accessKeyId":"AKIDEXAMPLE"}' }, 'lacks a string "accessKeyId" or "secretAccessKey"'],
  ])("a secondary access key %s is refused naming the field", async (_case, env, message) => {
    // Prepare
    const config = configWith({ secondary: { ...secondary, credentials: { env: 'SECONDARY_KEY' } } });

    // Act
    const attempt = secondaryPlace(config, env);

    // Assess
    await expect(attempt).rejects.toThrow(CredentialsUnavailable);
    await expect(attempt).rejects.toThrow(`environment variable SECONDARY_KEY (archive.secondary.credentials.env) ${message}`);
  });

  test('the same bucket on the same store is refused as a secondary', () => {
    // Act / Assess
    expect(() => configWith({ secondary: { bucket: 'acme-offsite', region: 'eu-west-1' } })).toThrow(ConfigError);
    expect(() => configWith({ secondary: { bucket: 'acme-offsite', region: 'eu-west-1' } })).toThrow('archive.secondary.bucket');
  });

  test('a KMS key that is not an ARN is refused naming the field', () => {
    // Act / Assess
    expect(() => configWith({ kms: 'alias/offsite' })).toThrow(/archive\.kms.*expected "create".*or a KMS key ARN/s);
  });

  test('writes into a place with a KMS key ask for SSE-KMS with bucket keys', () => {
    // Prepare
    const place = primaryPlace(configWith({ kms: KEY_ARN }), {});

    // Act
    const params = encryptionParams(place);

    // Assess
    expect(params).toEqual({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ARN, BucketKeyEnabled: true });
  });

  test("a stack-created key is the one the stack passes in the functions' environment", () => {
    // Prepare
    const config = configWith({ kms: 'create' });

    // Act
    const deployed = primaryPlace(config, { [ARCHIVE_KMS_KEY_ENV]: KEY_ARN });
    const local = primaryPlace(config, {});

    // Assess
    expect([deployed.kmsKeyArn, local.kmsKeyArn]).toEqual([KEY_ARN, undefined]);
    expect(encryptionParams(local)).toEqual({});
  });
});
