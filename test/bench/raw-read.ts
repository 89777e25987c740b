// Child process: the raw HTTP read rate. GETs the source with Node's fetch and throws
// every chunk away, so the figure is what one process can pull from the source at all.
import { cpuSince, describeError, receiveJob, reply, startRssSampler, type RawReadJob, type RawReadResult } from './bench-child';

async function main(): Promise<void> {
  const sampler = startRssSampler();
  const job = await receiveJob<RawReadJob>();
  sampler.markBaseline();
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  let bytes = 0;
  let error: string | undefined;
  try {
    const response = await fetch(job.url);
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
    }
  } catch (caught) {
    error = describeError(caught);
  }
  const elapsedMs = performance.now() - started;
  const result: RawReadResult = { type: 'result', ok: error === undefined, ...(error ? { error } : {}), bytes, elapsedMs, memory: sampler.stop(), cpu: cpuSince(cpuAtStart) };
  await reply(result);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`raw read: ${describeError(error)}`);
  process.exit(1);
});
