import type { CopyProgress } from '../archive/copier';

export interface CopyProgressEvent extends CopyProgress {
  readonly target: string;
  readonly objectKey: string;
}

type Listener = (event: CopyProgressEvent) => void;

let listener: Listener | undefined;

/** The CLI shows a progress bar; in Lambda nobody listens and the copy handler logs milestones instead. */
export function listenToCopyProgress(next: Listener | undefined): void {
  listener = next;
}

export function copyProgressListener(): Listener | undefined {
  return listener;
}
