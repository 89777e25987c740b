// The errors only NetBox Cloud's steps throw, by the rules of functions/shared/errors.ts (each sets
// `name`: the ASL matches on it). The definition lists them (`errors`), so the ASL policy
// test lets this kind's state machines, and only them, name them.

/** NetBox Cloud answered 422 to a restore: the target cannot run the backup's NetBox version. */
export class TargetVersionUnavailable extends Error {
  override readonly name = 'TargetVersionUnavailable';
}

export class RetrievalNotFound extends Error {
  override readonly name = 'RetrievalNotFound';
}

/** A retrieval exists but its download link has expired (or is about to). */
export class RetrievalExpired extends Error {
  override readonly name = 'RetrievalExpired';
}
