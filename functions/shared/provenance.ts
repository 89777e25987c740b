// How offsite marks what it makes at a vendor, in one place for every kind that can give a
// backup a description, and quoted by the README ("Made by offsite (target …, execution …)").

/** Every description offsite gives starts with this. */
export const OFFSITE_DESCRIPTION_MARKER = 'Made by offsite';

/**
 * The description of a backup offsite makes: unique per execution, so that after a create
 * whose answer was lost the backup the vendor did make is found by it (and adopted, never
 * made twice). A run finds its backup by the description it carries in its own state, so a
 * run started before this text changed still finds the backup it made under the older one.
 */
export function offsiteDescription(targetName: string, executionName: string): string {
  return `${OFFSITE_DESCRIPTION_MARKER} (target ${targetName}, execution ${executionName})`;
}

/** The `note` a backup prints when a create's answer was lost and the vendor had acted on it. */
export function lostAnswerSettledNote(lostAnswer: string, vendor: string, backupId: string | number): string {
  return `The answer to the create request was lost (${lostAnswer}); ${vendor} had made backup ${backupId}, which this run adopted.`;
}
