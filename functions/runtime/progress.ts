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

let cancellation: AbortSignal | undefined;

/** The CLI cancels in-flight copies on Ctrl-C, so the multipart upload is aborted rather than left open. */
export function cancelCopiesWith(signal: AbortSignal | undefined): void {
  cancellation = signal;
}

export function copyCancellationSignal(): AbortSignal | undefined {
  return cancellation;
}
