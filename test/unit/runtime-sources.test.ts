import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { CONFIG_PARAMETER_ENV, forgetRuntimeConfig, loadRuntimeConfig } from '../../functions/runtime/config-source';
import { parseConfig } from '../../functions/config/load';
import type { CredentialsRef } from '../../functions/config/schema';
import { resolveTargetCredential } from '../../functions/runtime/credentials';
import { CredentialsUnavailable } from '../../functions/shared/errors';

const secrets = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);

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
    ssm.reset();
    forgetRuntimeConfig();
  });

  test('in AWS it is read from the SSM parameter the stack names', async () => {
    // Prepare
    ssm.on(GetParameterCommand, { Name: '/offsite/config' }).resolves({ Parameter: { Value: JSON.stringify(stored) } });

    // Act
    const config = await loadRuntimeConfig({ [CONFIG_PARAMETER_ENV]: '/offsite/config' });

    // Assess
    expect(config.targets[0]?.name).toBe('netbox-prod');
  });

  test('a parameter that fails validation names the parameter and the field', async () => {
    // Prepare
    ssm.on(GetParameterCommand, { Name: '/offsite/bad' }).resolves({ Parameter: { Value: JSON.stringify({ ...stored, timezone: 'Nowhere/Land' }) } });

    // Act / Assess
    await expect(loadRuntimeConfig({ [CONFIG_PARAMETER_ENV]: '/offsite/bad' })).rejects.toThrow(/SSM parameter \/offsite\/bad:\n {2}timezone: expected an IANA time zone/);
  });
});
