// `npx tsx test/bench/cpuprofile-top.ts FILE.cpuprofile [N]`: where a V8 CPU profile (node
// --cpu-prof, or npm run bench -- --cpu-prof DIR) spent its time — self time summed per
// function (name and file:line), the top N (default 25), and the same summed per package
// or file, so a profile can be read without a browser's dev tools.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

function where(url: string): string {
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  return url.split('/').slice(-2).join('/');
}

function main(): void {
  const [file, count] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx test/bench/cpuprofile-top.ts FILE.cpuprofile [N]');
    process.exit(2);
  }
  const top = Number(count ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += micros;
    const name = `${frame.functionName || '(anonymous)'}  ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    const place = where(frame.url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  }
  const print = (title: string, entries: Map<string, number>, limit: number): void => {
    console.log(title);
    for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
      console.log(`${(micros / 1000).toFixed(0).padStart(8)} ms ${((100 * micros) / total).toFixed(1).padStart(5)} %  ${name}`);
    }
  };
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled over ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms`);
  print(`\nself time by function (top ${top}):`, byFunction, top);
  print('\nself time by package or file:', byPlace, 15);
}

main();
