import type { ArchivedCopy } from '../../../functions/archive/listing';
import type { ApplianceClient } from '../../../functions/kinds/appliance/client';
import { resolveRestore, type SecondaryListing } from '../../../functions/kinds/appliance/restore-plan';
import { planDrill } from '../../../functions/drill/plan';
import { parseConfig } from '../../../functions/config/load';
import type { ApplianceSimulator } from '../../../bin/sandbox/appliance';
import { archiveOf, archivedCopy, startQuickSimulator, target } from '../../support/appliance';

const PRIMARY = { prefix: '', url: 's3://acme-offsite/' };
const SECONDARY = { prefix: 'second/', url: 's3://acme-copy/second/' };

/** The same copy as the secondary holds it (the data model: the same key under its prefix). */
function inSecondary(copy: ArchivedCopy): ArchivedCopy {
  const objectKey = `${SECONDARY.prefix}${copy.manifest.objectKey}`;
  return { ...copy, manifestKey: `${objectKey}.manifest.json`, manifest: { ...copy.manifest, objectKey } };
}

function secondaryOf(...copies: ArchivedCopy[]): SecondaryListing {
  return { primary: PRIMARY, secondary: SECONDARY, listing: archiveOf(...copies.map(inSecondary)) };
}

const older = archivedCopy('b-older', { createdAt: '2026-03-19T01:00:00.000Z' });
const newer = archivedCopy('b-newer', { createdAt: '2026-03-20T01:00:00.000Z' });

describe('the restore plan over both archive places (an empty appliance: every restore uploads)', () => {
  let simulator: ApplianceSimulator;
  let client: ApplianceClient;

  beforeEach(async () => {
    ({ simulator, client } = await startQuickSimulator());
    simulator.deleteAllBackups();
  });

  afterEach(async () => {
    await simulator.stop();
  });

  test('"latest" is the newest backup in either place: the secondary\'s copy when the primary lost it, with the reason', async () => {
    // Act
    const plan = await resolveRestore(client, target, archiveOf(older), { latest: true }, false, undefined, secondaryOf(newer, older));

    // Assess
    expect(plan).toMatchObject({
      mode: 'upload',
      backup: { backupId: 'b-newer' },
      archive: { objectKey: `second/${newer.manifest.objectKey}`, place: 'secondary' },
      archiveFallback: null,
      placeReason: `the primary copy ${newer.manifest.objectKey} is missing`,
    });
  });

  test('a primary copy whose object is not the size its manifest records is passed over for the secondary\'s', async () => {
    // Act
    const plan = await resolveRestore(client, target, archiveOf({ ...newer, objectMatchesManifest: false }), { latest: true }, false, undefined, secondaryOf(newer));

    // Assess
    expect(plan.archive).toMatchObject({ place: 'secondary' });
    expect(plan.placeReason).toMatch(/^the primary copy .* is not what its manifest records/);
  });

  test('an archiveKey of either place names the backup; the primary copy is chosen with the secondary\'s to fall back to', async () => {
    // Act
    const plan = await resolveRestore(client, target, archiveOf(newer, older), { archiveKey: `second/${older.manifest.objectKey}` }, false, undefined, secondaryOf(newer, older));

    // Assess
    expect(plan).toMatchObject({
      backup: { backupId: 'b-older' },
      archive: { objectKey: older.manifest.objectKey, place: 'primary' },
      archiveFallback: { objectKey: `second/${older.manifest.objectKey}`, place: 'secondary' },
      placeReason: null,
    });
  });

  test('without a secondary the plan is the primary\'s, with nothing to fall back to', async () => {
    // Act
    const plan = await resolveRestore(client, target, archiveOf(newer, older), { latest: true }, false);

    // Assess
    expect(plan).toMatchObject({ archive: { objectKey: newer.manifest.objectKey, place: 'primary' }, archiveFallback: null, placeReason: null });
  });
});

test('a drill restores the secondary\'s copy of the newest backup when the primary has lost it', () => {
  // Prepare
  const appliance = (name: string, baseUrl: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'appliance', baseUrl, auth: { method: 'basic', username: 'admin', password: { env: 'PW' } }, ...extra });
  const config = parseConfig(
    { archive: { bucket: 'acme-offsite', prefix: '', region: 'eu-west-1' }, targets: [appliance('ar11-lab', 'https://ar.example.net', { drill: { to: 'ar-drill' } }), appliance('ar-drill', 'https://lab.example.net')] },
    'test',
  );

  // Act
  const plan = planDrill(config, config.targets[0] as never, archiveOf(older), new Map(), new Date(), { ...secondaryOf(newer, older), records: new Map() });

  // Assess
  expect(plan.copy).toMatchObject({ objectKey: `second/${newer.manifest.objectKey}`, sourceBackupId: 'b-newer' });
  expect(plan.restoreInput).toMatchObject({ archiveKey: `second/${newer.manifest.objectKey}`, archiveTarget: 'ar11-lab' });
});
