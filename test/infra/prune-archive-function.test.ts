import { ARCHIVE_JOBS } from '../../functions/archive/jobs';
import { allowedActions, resourcesFor, synthesize, testConfig, type SynthesizedStack } from '../support/infra';

// The archive's own PruneArchive function: least privilege in the archive, no vendor secret.
describe('PruneArchive function permissions', () => {
  let synth: SynthesizedStack;
  const spec = ARCHIVE_JOBS.functions.find((candidate) => candidate.id === 'PruneArchive');

  beforeAll(() => {
    synth = synthesize(testConfig(), { bundle: false, id: 'PruneArchive' });
  });

  test('lists and reads, deletes and reads marks and retention under the prefix only; never writes an object', () => {
    // Prepare
    if (!spec) throw new Error('PruneArchive is not in ARCHIVE_JOBS');

    // Act
    const statements = synth.statementsOfRole(synth.functionOf(spec).roleLogicalId);
    const s3Actions = allowedActions(statements).filter((action) => action.startsWith('s3:')).sort();

    // Assess
    expect(s3Actions).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:GetObjectLegalHold', 's3:GetObjectRetention', 's3:GetObjectTagging', 's3:ListBucket']);
    for (const action of ['s3:DeleteObject', 's3:GetObjectTagging', 's3:GetObjectRetention', 's3:GetObjectLegalHold']) {
      expect({ action, resources: resourcesFor(statements, action) }).toEqual({ action, resources: [expect.stringMatching(/\.Arn>\/backups\/\*$/)] });
    }
  });

  test('holds no vendor secret', () => {
    // Prepare
    if (!spec) throw new Error('PruneArchive is not in ARCHIVE_JOBS');

    // Act / Assess
    expect(allowedActions(synth.statementsOfRole(synth.functionOf(spec).roleLogicalId)).filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
  });
});
