import type { CopyRequest, DownloadSource } from './copier';

/** A vendor download made ready for the copier by the kind's own code. */
export interface PreparedDownload {
  readonly source: DownloadSource;
  readonly expected: CopyRequest['expected'];
  /** File extension for the archive object, e.g. ".backup" or ".tgz". */
  readonly extension: string;
  readonly describe: CopyRequest['describe'];
}
