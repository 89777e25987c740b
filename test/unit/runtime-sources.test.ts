import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { CONFIG_OBJECT_ENV, forgetRuntimeConfig, loadRuntimeConfig } from '../../functions/runtime/config-source';
import { parseConfig } from '../../functions/config/load';
import type { CredentialsRef } from '../../functions/config/schema';
import { resolveTargetCredential } from '../../functions/runtime/credentials';
import { CredentialsUnavailable } from '../../functions/shared/errors';

const secrets = mockClient(SecretsManagerClient);
const s3 = mockClient(S3Client);

/** A GetObject answer whose Body streams the given text, as the SDK's does. */
const objectBody = (text: string) => ({ Body: { transformToString: () => Promise.resolve(text) } as unknown as GetObjectCommandOutput['Body'] });

/** A NetBox Cloud target whose API key is at `credentials`: the secret holds the key or `{ "apiKey": ... }`. */
function netboxTarget(credentials: CredentialsRef) {
  const config = parseConfig(
    { archive: { bucket: 'test-offsite-archive', region: 'eu-west-1' }, targets: [{ name: 'netbox-prod', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-123', instanceId: 'nb-a12ff000777', credentials }] },
    'test',
  );
  const [target] = config.targets;
  if (!target) throw new Error('no target');
  return target;
}

function resolveApiKey(credentials: CredentialsRef, env?: NodeJS.ProcessEnv): Promise<string> {
  return resolveTargetCredential(netboxTarget(credentials), 'credentials', env);
}

describe('credentials', () => {
  beforeEach(() => {
    secrets.reset();
  });

  test('reads the key from the named environment variable', async () => {
    // Act / Assess
    await expect(resolveApiKey({ env: 'THE_KEY' }, { THE_KEY: 'k-123' })).resolves.toBe('k-123');
  });

  test('an unset environment variable is named in the error', async () => {
    // Act
    const failure = resolveApiKey({ env: 'THE_KEY' }, {});

    // Assess
    await expect(failure).rejects.toBeInstanceOf(CredentialsUnavailable);
    await expect(failure).rejects.toThrow('Target "netbox-prod": environment variable THE_KEY (credentials.env) is not set.');
  });

  test('a key with a stray newline is refused without quoting it', async () => {
    // Act
    const failure = resolveApiKey({ env: 'THE_KEY' }, { THE_KEY: 'k-123\n' });

    // Assess
    await expect(failure).rejects.toThrow('Target "netbox-prod": the credential in environment variable THE_KEY contains whitespace or control characters');
    await expect(failure).rejects.not.toThrow(/k-123/);
  });

  test('reads a plain secret string from Secrets Manager', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand, { SecretId: 'offsite/plain' }).resolves({ SecretString: 'plain-key' });

    // Act / Assess
    await expect(resolveApiKey({ secret: 'offsite/plain' })).resolves.toBe('plain-key');
  });

  test('reads apiKey from a JSON secret', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand, { SecretId: 'offsite/json' }).resolves({ SecretString: '{"apiKey":"json-key","note":"rotated"}' });

    // Act / Assess
    await expect(resolveApiKey({ secret: 'offsite/json' })).resolves.toBe('json-key');
  });

  test('a secret that cannot be read is CredentialsUnavailable naming the secret, not its value', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand, { SecretId: 'offsite/missing' }).rejects(Object.assign(new Error('Secrets Manager cannot find it'), { name: 'ResourceNotFoundException' }));

    // Act / Assess
    await expect(resolveApiKey({ secret: 'offsite/missing' })).rejects.toThrow(
      'Target "netbox-prod": cannot read secret offsite/missing (credentials.secret): ResourceNotFoundException: Secrets Manager cannot find it',
    );
  });
});

describe('runtime configuration', () => {
  const stored = {
    archive: { bucket: 'acme-offsite', prefix: 'backups/', region: 'eu-west-1' },
    targets: [{ name: 'netbox-prod', kind: 'netbox-cloud', baseUrl: 'https://api.netboxlabs.com', orgId: 'org-1', instanceId: 'nb-a1', credentials: { secret: 'offsite/x' } }],
  };

  beforeEach(() => {
    s3.reset();
    forgetRuntimeConfig();
  });

  test('in AWS it is read from the S3 object the stack deploys and names', async () => {
    // Prepare
    s3.on(GetObjectCommand, { Bucket: 'cdk-assets', Key: 'abc123.json' }).resolves(objectBody(JSON.stringify(stored)));

    // Act
    const config = await loadRuntimeConfig({ [CONFIG_OBJECT_ENV]: 's3://cdk-assets/abc123.json', AWS_REGION: 'eu-west-1' });

    // Assess
    expect(config.targets[0]?.name).toBe('netbox-prod');
  });

  test('the object is read once per cold start, then served from memory', async () => {
    // Prepare
    s3.on(GetObjectCommand).callsFake(() => objectBody(JSON.stringify(stored)));
    const env = { [CONFIG_OBJECT_ENV]: 's3://cdk-assets/abc123.json', AWS_REGION: 'eu-west-1' };

    // Act
    await loadRuntimeConfig(env);
    await Promise.all([loadRuntimeConfig(env), loadRuntimeConfig(env)]);

    // Assess
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  test('a failed read is not cached: the next invocation reads again', async () => {
    // Prepare
    s3.on(GetObjectCommand).rejectsOnce(Object.assign(new Error('slow down'), { name: 'SlowDown' })).callsFake(() => objectBody(JSON.stringify(stored)));
    const env = { [CONFIG_OBJECT_ENV]: 's3://cdk-assets/abc123.json', AWS_REGION: 'eu-west-1' };

    // Act
    await expect(loadRuntimeConfig(env)).rejects.toThrow(/s3:\/\/cdk-assets\/abc123.json.*SlowDown/);
    const config = await loadRuntimeConfig(env);

    // Assess
    expect(config.targets[0]?.name).toBe('netbox-prod');
  });

  test('an object that fails validation names the object and the field', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves(objectBody(JSON.stringify({ ...stored, timezone: 'Nowhere/Land' })));

    // Act / Assess
    await expect(loadRuntimeConfig({ [CONFIG_OBJECT_ENV]: 's3://cdk-assets/bad.json', AWS_REGION: 'eu-west-1' })).rejects.toThrow(
      /configuration object s3:\/\/cdk-assets\/bad.json:\n {2}timezone: expected an IANA time zone/,
    );
  });
});
