// The errors only the appliance's steps throw, by the rules of functions/shared/errors.ts (each sets
// `name`: the ASL matches on it). The definition lists them (`errors`), so the ASL policy
// test lets this kind's state machines, and only them, name them.

/** The appliance refused a new backup (or an upload) because its disk holds all it can. */
export class ApplianceStorageFull extends Error {
  override readonly name = 'ApplianceStorageFull';
}

/** The appliance reported the backup `failed`; the message carries its status_message. */
export class ApplianceBackupFailed extends Error {
  override readonly name = 'ApplianceBackupFailed';
}

/** The backup was made on other software than the appliance runs now. */
export class SoftwareVersionMismatch extends Error {
  override readonly name = 'SoftwareVersionMismatch';
}

/** The appliance stayed unreachable longer than the configured reboot window after a restore. */
export class RebootWindowExceeded extends Error {
  override readonly name = 'RebootWindowExceeded';
}
