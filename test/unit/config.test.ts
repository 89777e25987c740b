import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, findTarget, findTargetOfKind, loadConfigFile, parseConfig } from '../../functions/config/load';

function validConfig(): Record<string, unknown> {
  return {
    archive: { bucket: 'acme-offsite', prefix: 'backups/', region: 'eu-west-1' },
    timezone: 'Europe/Berlin',
    alarmEmail: 'noc@example.com',
    targets: [
      {
        name: 'netbox-prod',
        kind: 'netbox-cloud',
        baseUrl: 'https://api.netboxlabs.com',
        orgId: 'org-123',
        instanceId: 'nb-a12ff000777',
        credentials: { env: 'NETBOX_CLOUD_API_KEY' },
        schedule: 'cron(0 2 * * ? *)',
        poll: { initialSeconds: 15, maxSeconds: 300, timeoutMinutes: 180 },
        retention: { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 },
      },
    ],
  };
}

function withTarget(changes: Record<string, unknown>): Record<string, unknown> {
  const config = validConfig();
  const targets = config.targets as Record<string, unknown>[];
  config.targets = [{ ...targets[0], ...changes }];
  return config;
}

describe('configuration', () => {
  test('accepts the configuration of the design notes', () => {
    // Act
    const config = parseConfig(validConfig(), 'test');

    // Assess
    expect(config.targets[0]).toMatchObject({ name: 'netbox-prod', kind: 'netbox-cloud', requestTimeoutSeconds: 30 });
  });

  test('accepts allowPrivateDownloadHosts on a NetBox Cloud target; without it private download hosts are refused', () => {
    // Act
    const opted = parseConfig(withTarget({ allowPrivateDownloadHosts: true }), 'test');
    const plain = parseConfig(validConfig(), 'test');

    // Assess
    expect(opted.targets[0]).toMatchObject({ allowPrivateDownloadHosts: true });
    expect(plain.targets[0]).not.toHaveProperty('allowPrivateDownloadHosts', true);
  });

  test('fills poll defaults when poll is omitted', () => {
    // Act
    const config = parseConfig(withTarget({ poll: undefined }), 'test');

    // Assess
    expect((config.targets[0] as { poll?: unknown } | undefined)?.poll).toEqual({ initialSeconds: 15, maxSeconds: 300, timeoutMinutes: 180 });
  });

  test.each([
    ['a bad bucket name', { ...validConfig(), archive: { bucket: 'Bad_Bucket', region: 'eu-west-1' } }, 'archive.bucket: expected an S3 bucket name', '(got "Bad_Bucket")'],
    ['an unknown time zone', { ...validConfig(), timezone: 'Mars/Olympus' }, 'timezone: expected an IANA time zone', '(got "Mars/Olympus")'],
    ['plain http to a remote host', withTarget({ baseUrl: 'http://api.netboxlabs.com' }), 'targets[0].baseUrl: expected https://', '(got "http://api.netboxlabs.com")'],
    ['an instance id that is not a single token', withTarget({ instanceId: 'nb a12' }), 'targets[0].instanceId: expected a NetBox Cloud instance id', '(got "nb a12")'],
    ['credentials of neither form', withTarget({ credentials: { apiKey: 'inline' } }), 'targets[0].credentials: expected { "env": "VARIABLE_NAME" }', ''],
    ['maxSeconds below initialSeconds', withTarget({ poll: { initialSeconds: 60, maxSeconds: 30, timeoutMinutes: 10 } }), 'targets[0].poll.maxSeconds: maxSeconds must be at least initialSeconds', '(got 30)'],
    ['an unknown kind', withTarget({ kind: 'netbox-onprem' }), 'targets[0].kind: expected "kind" to be one of: netbox-cloud', '(got "netbox-onprem")'],
    ['a schedule that is not a Scheduler expression', withTarget({ schedule: '0 2 * * *' }), 'targets[0].schedule: expected an EventBridge Scheduler expression', '(got "0 2 * * *")'],
    ['an unknown field', { ...validConfig(), archiv: {} }, '(top level): ', 'unknown field(s) "archiv"'],
    ['allowPrivateDownloadHosts that is not a boolean', withTarget({ allowPrivateDownloadHosts: 'yes' }), 'targets[0].allowPrivateDownloadHosts: expected true or false', '(got "yes")'],
  ])('rejects %s, naming the field and the value', (_case, raw, field, value) => {
    // Act / Assess
    expect(() => parseConfig(raw, 'offsite.config.json')).toThrow(ConfigError);
    expect(() => parseConfig(raw, 'offsite.config.json')).toThrow(field);
    expect(() => parseConfig(raw, 'offsite.config.json')).toThrow(value);
  });

  test('rejects two targets with the same name', () => {
    // Prepare
    const config = validConfig();
    config.targets = [...(config.targets as unknown[]), ...(config.targets as unknown[])];

    // Act / Assess
    expect(() => parseConfig(config, 'test')).toThrow('targets[1].name: duplicate target name "netbox-prod"');
  });

  test('an unknown target name is rejected with the list of known ones', () => {
    // Prepare
    const config = parseConfig(validConfig(), 'test');

    // Act / Assess
    expect(() => findTarget(config, 'netbox-stage')).toThrow('Unknown target "netbox-stage". Configured targets: netbox-prod.');
  });

  test('finds a target by name when it has the expected kind', () => {
    // Prepare
    const config = parseConfig(validConfig(), 'test');

    // Act / Assess
    expect(findTargetOfKind(config, 'netbox-prod', 'netbox-cloud').orgId).toBe('org-123');
  });

  test('a missing file says where it looked and how to fix it', () => {
    // Act / Assess
    expect(() => loadConfigFile('/nonexistent/offsite.config.json')).toThrow(/No configuration file at \/nonexistent\/offsite.config.json. Create offsite.config.json/);
  });

  test('a file that is not JSON is named in the error', () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'offsite-config-')), 'offsite.config.json');
    writeFileSync(path, '{ "archive": ');

    // Act / Assess
    expect(() => loadConfigFile(path)).toThrow(`Configuration file ${path} is not valid JSON`);
  });
});

describe('appliance configuration', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ0\n-----END CERTIFICATE-----\n';

  function applianceTarget(changes: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name: 'ar11-lab',
      kind: 'appliance',
      baseUrl: 'https://ar11.example.net',
      auth: { method: 'token', username: 'offsite', password: { env: 'AR11_PASSWORD' } },
      ...changes,
    };
  }

  function withAppliance(changes: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...validConfig(), targets: [applianceTarget(changes)], ...top };
  }

  test('a valid appliance target parses with the defaults filled in', () => {
    // Act
    const config = parseConfig(withAppliance(), 'test');

    // Assess
    expect(config.targets[0]).toEqual({
      name: 'ar11-lab',
      kind: 'appliance',
      baseUrl: 'https://ar11.example.net',
      auth: { method: 'token', apiVersion: '1.0', username: 'offsite', password: { env: 'AR11_PASSWORD' } },
      poll: { initialSeconds: 15, maxSeconds: 120, timeoutMinutes: 120 },
      applianceKeep: 1,
      restore: { rebootWindowMinutes: 30 },
      requestTimeoutSeconds: 30,
    });
  });

  test('accepts Basic, OAuth 2, a CA bundle and a network placement', () => {
    // Prepare
    const raw = {
      ...validConfig(),
      network: { vpcId: 'vpc-0a1b2c3d4e5f60718', subnetIds: ['subnet-0a1b2c3d4e5f60718'], securityGroupIds: ['sg-0a1b2c3d4e5f60718'] },
      targets: [
        applianceTarget({ name: 'basic-one', auth: { method: 'basic', username: 'offsite', password: { secret: 'ar11/password' } }, tls: { ca: { pem: PEM } } }),
        applianceTarget({ name: 'oauth-one', auth: { method: 'oauth2', secret: { env: 'AR11_CODE' } }, tls: { dangerouslyDisableCertificateVerification: true } }),
      ],
    };

    // Act
    const config = parseConfig(raw, 'test');

    // Assess
    expect(config.targets.map((target) => target.kind === 'appliance' && target.auth)).toEqual([
      { method: 'basic', username: 'offsite', password: { secret: 'ar11/password' } },
      { method: 'oauth2', tokenPath: '/api/common/1.0/oauth/token', grantType: 'access_code', secret: { env: 'AR11_CODE' } },
    ]);
    expect(config.network?.subnetIds).toEqual(['subnet-0a1b2c3d4e5f60718']);
  });

  test.each([
    ['an unknown auth.method', withAppliance({ auth: { method: 'kerberos', username: 'offsite', password: { env: 'P' } } }), 'targets[0].auth.method: expected "method" to be one of: token, basic, oauth2', '(got "kerberos")'],
    [
      'tls with both a CA and verification turned off',
      withAppliance({ tls: { ca: { pem: PEM }, dangerouslyDisableCertificateVerification: true } }),
      'targets[0].tls.dangerouslyDisableCertificateVerification: give either a CA bundle (ca) or dangerouslyDisableCertificateVerification, not both',
      '',
    ],
    ['a tls.ca.pem that is not PEM', withAppliance({ tls: { ca: { pem: 'MIIBszCCAVmgAwIBAgIUJ0' } } }), 'targets[0].tls.ca.pem: expected one or more PEM certificates', '(got "MIIBszCCAVmgAwIBAgIUJ0")'],
    [
      'a bad subnet id in network',
      withAppliance({}, { network: { vpcId: 'vpc-0a1b2c3d4e5f60718', subnetIds: ['subnet-XYZ'], securityGroupIds: ['sg-0a1b2c3d4e5f60718'] } }),
      'network.subnetIds[0]: expected an id such as subnet-0a1b2c3d4e5f60718',
      '(got "subnet-XYZ")',
    ],
    ['an unknown kind', withAppliance({ kind: 'netbox-onprem' }), 'targets[0].kind: expected "kind" to be one of: netbox-cloud, appliance', '(got "netbox-onprem")'],
    ['client_credentials without clientId', withAppliance({ auth: { method: 'oauth2', grantType: 'client_credentials', secret: { env: 'S' } } }), 'targets[0].auth.clientId: client_credentials needs clientId', '(missing)'],
    ['applianceKeep above 10', withAppliance({ applianceKeep: 11 }), 'targets[0].applianceKeep: ', '(got 11)'],
  ])('rejects %s, naming the field', (_case, raw, field, value) => {
    // Act / Assess
    expect(() => parseConfig(raw, 'offsite.config.json')).toThrow(ConfigError);
    expect(() => parseConfig(raw, 'offsite.config.json')).toThrow(field);
    expect(() => parseConfig(raw, 'offsite.config.json')).toThrow(value);
  });
});
