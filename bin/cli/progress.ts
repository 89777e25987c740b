import { SingleBar } from 'cli-progress';
import type { LifecycleEvent } from '../local/local-runner';
import type { CopyProgressEvent } from '../../functions/runtime/progress';
import { formatBytes } from './format';

type Write = (line: string) => void;

/** Shows each state as it runs on stderr, so stdout keeps only the result. */
export function stateReporter(write: Write): (event: LifecycleEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'state-entered':
        if (event.stateType === 'Task' || event.stateType === 'Fail' || event.stateType === 'Succeed') write(`→ ${event.state}`);
        break;
      case 'state-retried':
        write(`  ${event.state}: retrying (attempt ${event.attempt}) after ${event.error}`);
        break;
      case 'state-failed':
        write(`  ${event.state} failed: ${event.error}`);
        break;
      case 'state-caught':
        break;
    }
  };
}

/**
 * Bytes, rate and percentage during the copy: a live bar on a terminal, a line per
 * tenth (or per 64 MiB when the size is unknown) otherwise.
 */
export function copyProgressReporter(stream: NodeJS.WriteStream): { onProgress: (event: CopyProgressEvent) => void; stop: () => void } {
  if (stream.isTTY) {
    let bar: SingleBar | undefined;
    return {
      onProgress: (event) => {
        const total = event.totalBytes ?? event.bytes;
        if (!bar) {
          bar = new SingleBar(
            { stream, format: '  copy [{bar}] {percentage}% | {done} of {size} | {rate}/s', hideCursor: true, clearOnComplete: false },
          );
          bar.start(total, 0, { done: formatBytes(0), size: formatBytes(total), rate: '-' });
        }
        const rate = event.elapsedMs > 0 ? formatBytes((event.bytes / event.elapsedMs) * 1000) : '-';
        bar.setTotal(Math.max(total, event.bytes));
        bar.update(event.bytes, { done: formatBytes(event.bytes), size: formatBytes(total), rate });
      },
      stop: () => bar?.stop(),
    };
  }
  let nextMark = 0;
  let lastBytes = 0;
  let lastEvent: CopyProgressEvent | undefined;
  const line = (event: CopyProgressEvent): string => {
    const rate = event.elapsedMs > 0 ? `${formatBytes((event.bytes / event.elapsedMs) * 1000)}/s` : '';
    const percent = event.totalBytes ? ` (${Math.floor((event.bytes / event.totalBytes) * 100)}%)` : '';
    return `  copied ${formatBytes(event.bytes)}${event.totalBytes ? ` of ${formatBytes(event.totalBytes)}` : ''}${percent} ${rate}\n`;
  };
  return {
    onProgress: (event) => {
      lastEvent = event;
      const step = event.totalBytes ? Math.max(1, Math.ceil(event.totalBytes / 10)) : 64 * 1024 * 1024;
      if (event.bytes >= nextMark) {
        stream.write(line(event));
        lastBytes = event.bytes;
        nextMark = event.bytes + step;
      }
    },
    stop: () => {
      if (lastEvent && lastEvent.bytes !== lastBytes) stream.write(line(lastEvent));
    },
  };
}
