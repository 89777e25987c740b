// The errors only the VPS provider's steps throw, by the rules of functions/shared/errors.ts (each sets
// `name`: the ASL matches on it). The definition lists them (`errors`), so the ASL policy
// test lets this kind's state machines, and only them, name them.

/** The VPS provider answered 404 to a backup of the configured serverId: there is no such server (or the token cannot see it). */
export class ServerNotFound extends Error {
  override readonly name = 'ServerNotFound';
}

/** The VPS provider reported a backup failed (or ended in a status that is not completed); the message carries its words. */
export class ProviderBackupFailed extends Error {
  override readonly name = 'ProviderBackupFailed';
}

/** The backup asked for cannot be restored onto this server (not completed, or another server's): nothing was restored. */
export class BackupNotRestorable extends Error {
  override readonly name = 'BackupNotRestorable';
}
