import { planPrune } from '../../../functions/kinds/appliance/prune';
import { archiveOf, archivedCopy, backup } from '../../support/appliance';

describe('planPrune', () => {
  test('keeps the newest applianceKeep backups offsite made and deletes older ones with a verified copy', () => {
    // Prepare: listed in no particular order, as the appliance does.
    const backups = [backup('b-200', 200), backup('b-300', 300), backup('b-100', 100)];

    // Act
    const plan = planPrune(backups, archiveOf(archivedCopy('b-100'), archivedCopy('b-200'), archivedCopy('b-300')), 1);

    // Assess
    expect(plan).toEqual({ delete: ['b-200', 'b-100'], keptWithoutArchiveCopy: [], notMadeByOffsite: [] });
  });

  test('keeps older backups without a verified copy: none, object not matching its manifest, or another size', () => {
    // Prepare
    const backups = [backup('newest', 400), backup('no-copy', 300), backup('broken-copy', 200), backup('other-size', 100)];
    const archive = archiveOf(archivedCopy('broken-copy', { matches: false }), archivedCopy('other-size', { sizeBytes: 999 }));

    // Act
    const plan = planPrune(backups, archive, 1);

    // Assess
    expect(plan).toEqual({ delete: [], keptWithoutArchiveCopy: ['no-copy', 'broken-copy', 'other-size'], notMadeByOffsite: [] });
  });

  test('never touches backups offsite did not make, however old and however archived', () => {
    // Prepare
    const backups = [backup('ours', 300), backup('nightly', 100, { description: 'nightly (appliance scheduler)' }), backup('manual', 50, { description: undefined })];
    const archive = archiveOf(archivedCopy('ours'), archivedCopy('nightly'), archivedCopy('manual'));

    // Act
    const plan = planPrune(backups, archive, 0);

    // Assess
    expect(plan).toEqual({ delete: ['ours'], keptWithoutArchiveCopy: [], notMadeByOffsite: ['nightly', 'manual'] });
  });

  test('a running backup is neither counted as kept nor deleted; a failed one offsite made is deleted, as it only holds a slot', () => {
    // Prepare
    const backups = [backup('running', 500, { status: 'started' }), backup('failed', 400, { status: 'failed' }), backup('kept', 300), backup('old', 200)];
    const archive = archiveOf(archivedCopy('old'));

    // Act
    const plan = planPrune(backups, archive, 1);

    // Assess
    expect(plan).toEqual({ delete: ['failed', 'old'], keptWithoutArchiveCopy: [], notMadeByOffsite: [] });
  });

  test('a backup as old as the newest one kept is kept too (backup_time has whole seconds)', () => {
    // Prepare
    const backups = [backup('a', 300), backup('b', 300), backup('c', 200)];

    // Act
    const plan = planPrune(backups, archiveOf(archivedCopy('a'), archivedCopy('b'), archivedCopy('c')), 1);

    // Assess
    expect(plan.delete).toEqual(['c']);
  });
});
