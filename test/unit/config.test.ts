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
  test('accepts the configuration shown in DESIGN.md', () => {
    // Act
    const config = parseConfig(validConfig(), 'test');

    // Assess
    expect(config.targets[0]).toMatchObject({ name: 'netbox-prod', kind: 'netbox-cloud', requestTimeoutSeconds: 30 });
  });

  test('fills poll defaults when poll is omitted', () => {
    // Act
    const config = parseConfig(withTarget({ poll: undefined }), 'test');

    // Assess
    expect(config.targets[0]?.poll).toEqual({ initialSeconds: 15, maxSeconds: 300, timeoutMinutes: 180 });
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
