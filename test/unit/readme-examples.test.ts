// Every example in the docs is a test. From README.md and every docs/**/*.md, this reads
// each fenced code block and checks what it shows against the real code:
//
// - A ```json block is, by its shape:
//   * a configuration (has "archive" or "targets"): it loads through the real loader;
//   * one target (has "name" and "kind"): wrapped as the only target of a minimal
//     configuration (MINIMAL_ARCHIVE), then loaded;
//   * target fields without braces (`"drill": { … }`): a fragment of a target. It is added
//     to the first target of the first full configuration in the same file (README.md's
//     when the file has none), then loaded;
//   * a console input (has a string "target" and no "name"): it names its state machine in
//     the text before it (`offsite-<kind>-<purpose>`). It must pass that state machine's own
//     input checks (the real ASL, run up to its first Task), and its target must be a target
//     of that kind in the docs' examples (any file: the console inputs and the kind that
//     defines the target live on different pages);
//   * an IAM policy document ("Version" and "Statement"): it must be JSON;
//   * anything else fails: add a rule here for a new kind of example.
//   A block preceded by `<!-- refused: <message> -->` must be refused by the loader with an
//   error containing <message> (the words the surrounding text quotes).
// - A line in any block that runs offsite (`offsite …`, `npm run offsite -- …`, `npm start`,
//   `npm start -- …`) must be accepted by the real commander program (bin/cli/program.ts)
//   with its actions replaced: parsed, never run.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { Command, CommanderError } from 'commander';
import { program } from '../../bin/cli/program';
import { allStates, loadLocalDefinition, type JsonValue, type StateList } from '../../bin/local/local-runner';
import { REPO_ROOT } from '../../bin/local/repo-root';
import { LIFECYCLES } from '../../functions/catalog';
import { parseConfig } from '../../functions/config/load';
import type { OffsiteConfig } from '../../functions/config/schema';

/** The archive a single-target example is given to load. */
const MINIMAL_ARCHIVE = { bucket: 'acme-offsite', prefix: 'backups/', region: 'eu-west-1' };

interface CodeBlock {
  readonly file: string;
  readonly line: number;
  readonly language: string;
  readonly text: string;
  /** The prose between the previous block and this one. */
  readonly before: string;
}

type JsonObject = { [key: string]: JsonValue };

function docFiles(): string[] {
  const docs = join(REPO_ROOT, 'docs');
  const nested = existsSync(docs)
    ? readdirSync(docs, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(docs, name))
    : [];
  return [join(REPO_ROOT, 'README.md'), ...nested.sort()];
}

function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  let open: { line: number; language: string; indent: number; body: string[] } | undefined;
  let prose: string[] = [];
  lines.forEach((line, index) => {
    const fence = /^(\s*)```\s*([\w-]*)\s*$/.exec(line);
    if (open) {
      if (fence && fence[2] === '') {
        const indent = open.indent;
        blocks.push({ file: relative(REPO_ROOT, file), line: open.line, language: open.language, text: open.body.map((body) => body.slice(indent)).join('\n'), before: prose.join('\n') });
        open = undefined;
        prose = [];
      } else {
        open.body.push(line);
      }
    } else if (fence) {
      open = { line: index + 1, language: fence[2] ?? '', indent: fence[1]?.length ?? 0, body: [] };
    } else {
      prose.push(line);
    }
  });
  if (open) throw new Error(`${file}:${open.line}: a code block that is never closed`);
  return blocks;
}

const BLOCKS = docFiles().flatMap(codeBlocks);
const JSON_BLOCKS = BLOCKS.filter((block) => block.language === 'json');
const where = (block: CodeBlock): string => `${block.file}:${block.line}`;

/** A whole JSON value, or target fields written without their braces. */
function parseExample(block: CodeBlock): { value: JsonObject; fragment: boolean } {
  try {
    return { value: JSON.parse(block.text) as JsonObject, fragment: false };
  } catch {
    try {
      return { value: JSON.parse(`{${block.text}}`) as JsonObject, fragment: true };
    } catch (error) {
      throw new Error(`${where(block)}: neither JSON nor target fields: ${(error as Error).message}`);
    }
  }
}

type Example =
  | { readonly type: 'configuration'; readonly raw: JsonObject }
  | { readonly type: 'console-input'; readonly input: JsonObject }
  | { readonly type: 'policy' };

function classify(block: CodeBlock, firstConfiguration: JsonObject | undefined): Example {
  const { value, fragment } = parseExample(block);
  if (fragment) {
    const base = firstConfiguration;
    const targets = base?.['targets'];
    if (!base || !Array.isArray(targets) || targets.length === 0) throw new Error(`${where(block)}: target fields, but no configuration example before to add them to`);
    return { type: 'configuration', raw: { ...base, targets: [{ ...(targets[0] as JsonObject), ...value }] } };
  }
  if ('Version' in value && 'Statement' in value) return { type: 'policy' };
  if ('archive' in value || 'targets' in value) return { type: 'configuration', raw: value };
  if ('name' in value && 'kind' in value) return { type: 'configuration', raw: { archive: MINIMAL_ARCHIVE, targets: [value] } };
  if (typeof value['target'] === 'string') return { type: 'console-input', input: value };
  throw new Error(`${where(block)}: a JSON example of no known shape (configuration, target, target fields, console input, IAM policy): add a rule to this test`);
}

/** The words a refusal marker before the block expects, if any. */
function expectedRefusal(block: CodeBlock): string | undefined {
  return /<!--\s*refused:\s*([\s\S]*?)\s*-->\s*$/.exec(block.before)?.[1];
}

/** The first full configuration of each file (README.md's stands in for a file without one). */
function firstConfigurations(): Map<string, JsonObject> {
  const firsts = new Map<string, JsonObject>();
  for (const block of JSON_BLOCKS) {
    if (firsts.has(block.file)) continue;
    try {
      const { value, fragment } = parseExample(block);
      if (!fragment && ('archive' in value || 'targets' in value)) firsts.set(block.file, value);
    } catch {
      // Reported by the block's own test.
    }
  }
  return firsts;
}

const FIRSTS = firstConfigurations();
const firstConfigurationFor = (block: CodeBlock): JsonObject | undefined => FIRSTS.get(block.file) ?? FIRSTS.get('README.md');

/** Every target the docs' configuration examples define (in any file), by name. */
function exampleTargets(): Map<string, string> {
  const targets = new Map<string, string>();
  for (const block of JSON_BLOCKS) {
    try {
      const example = classify(block, firstConfigurationFor(block));
      if (example.type !== 'configuration') continue;
      for (const target of (example.raw['targets'] as JsonObject[] | undefined) ?? []) targets.set(String(target['name']), String(target['kind']));
    } catch {
      // Reported by the block's own test.
    }
  }
  return targets;
}

/**
 * Runs the state machine's real ASL with the input, every Task replaced; the input is
 * accepted when the execution reaches a Task, i.e. passed every input check before it.
 */
async function firstTaskReached(definition: StateMachineDefinition, input: JsonObject): Promise<{ task: string | undefined; failedIn: string | undefined }> {
  const stop = async (): Promise<never> => {
    throw new Error('stopped at the first Task');
  };
  const taskNames = allStates(definition.States as unknown as StateList)
    .filter(([, state]) => state.Type === 'Task')
    .map(([name]) => name);
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: Object.fromEntries(taskNames.map((name) => [name, stop])) },
    context: { Execution: { Name: 'docs-example' } },
  });
  // Its end (aborted or failed) is read from the events; the result's rejection says nothing more.
  execution.result.catch(() => undefined);
  let failedIn: string | undefined;
  for await (const event of execution.eventLogs) {
    if (event.type === 'StateEntered' && event.state.type === 'Task') {
      execution.abort();
      return { task: event.state.name, failedIn };
    }
    if (event.type === 'StateEntered' && event.state.type === 'Fail') failedIn = event.state.name;
  }
  return { task: undefined, failedIn };
}

/** The state machine the text before a console input names: the last `offsite-<name>` that is a lifecycle's. */
function namedLifecycle(block: CodeBlock) {
  const named = [...block.before.matchAll(/`offsite-([a-z0-9-]+)`/g)].map((match) => `state-machines/${match[1] ?? ''}.asl.json`);
  const lifecycle = LIFECYCLES.find((candidate) => candidate.definitionFile === named.filter((file) => LIFECYCLES.some((each) => each.definitionFile === file)).at(-1));
  if (!lifecycle) throw new Error(`${where(block)}: a console input whose text names no state machine (\`offsite-<kind>-<purpose>\`)`);
  return lifecycle;
}

// -------------------------------------------------------------- command lines

/** The arguments an offsite invocation passes, or undefined for a line that runs something else. */
function offsiteArguments(line: string): string[] | undefined {
  const command = line.replace(/^\s*\$\s+/, '').replace(/\s+#.*$/, '').trim();
  const match = /^(?:offsite|npm run offsite --|(npm start)(?:\s+--)?)(?:\s+(.*))?$/.exec(command);
  if (!match) return undefined;
  const words = [...(match[2] ?? '').matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((word) => word[1] ?? word[2] ?? word[3] ?? '');
  return match[1] ? ['sandbox', ...words] : words;
}

const INVOCATIONS = BLOCKS.flatMap((block) =>
  block.text.split('\n').flatMap((line, index) => {
    const args = offsiteArguments(line);
    return args ? [{ at: `${block.file}:${block.line + 1 + index}`, line: line.trim(), args }] : [];
  }),
);

/** The real program with every action replaced and nothing printed: parses, never runs. */
function parsingProgram(errors: string[]): Command {
  const cli = program();
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: (text) => errors.push(text) });
    if (command.parent) command.action(() => undefined);
    command.commands.forEach(quiet);
  };
  quiet(cli);
  return cli;
}

async function parseCommandLine(args: readonly string[]): Promise<{ accepted: boolean; said: string }> {
  const errors: string[] = [];
  try {
    await parsingProgram(errors).parseAsync([...args], { from: 'user' });
    return { accepted: true, said: '' };
  } catch (error) {
    if (error instanceof CommanderError) return { accepted: false, said: `${error.code}: ${errors.join('').trim() || error.message}` };
    throw error;
  }
}

// ------------------------------------------------------------------------ tests

describe('the docs\' examples', () => {
  test('the docs have examples of every shape this test reads (the extraction still finds them)', () => {
    // Prepare, Act
    const shapes = JSON_BLOCKS.map((block) => classify(block, firstConfigurationFor(block)).type);

    // Assess
    expect(new Set(shapes)).toEqual(new Set(['configuration', 'console-input', 'policy']));
    expect(INVOCATIONS.length).toBeGreaterThan(0);
  });

  describe.each(JSON_BLOCKS.map((block) => [where(block), block] as const))('JSON example at %s', (_at, block) => {
    test('is what its shape says: a configuration loads (or is refused as the text says), a console input passes its state machine\'s input checks', async () => {
      // Prepare
      const example = classify(block, firstConfigurationFor(block));

      // Act, Assess
      if (example.type === 'configuration') {
        const refusal = expectedRefusal(block);
        const load = (): OffsiteConfig => parseConfig(example.raw, where(block));
        if (refusal === undefined) expect(load).not.toThrow();
        else expect(load).toThrow(refusal);
      } else if (example.type === 'console-input') {
        const lifecycle = namedLifecycle(block);
        const reached = await firstTaskReached(loadLocalDefinition(lifecycle), example.input);
        expect(reached).toMatchObject({ task: expect.any(String) as unknown });
        expect(exampleTargets().get(String(example.input['target']))).toBe(lifecycle.kind);
      }
    });
  });

  test.each(INVOCATIONS.map((invocation) => [invocation.at, invocation.line, invocation.args] as const))('command line at %s is accepted by the real parser: %s', async (_at, _line, args) => {
    // Act
    const parsed = await parseCommandLine(args);

    // Assess
    expect(parsed).toEqual({ accepted: true, said: '' });
  });
});

describe('the checks themselves', () => {
  test('a configuration example the loader refuses fails, naming the field', () => {
    // Prepare
    const block: CodeBlock = { file: 'example.md', line: 1, language: 'json', text: '"drill": { "to": "nb-c34ff000999", "checks": { "objectCounts": [42] } }', before: '' };
    const example = classify(block, firstConfigurationFor({ ...block, file: 'README.md' }));

    // Act
    const load = () => (example.type === 'configuration' ? parseConfig(example.raw, where(block)) : undefined);

    // Assess
    expect(load).toThrow(/drill\.checks\.objectCounts\[0\]/);
  });

  test('a console input without the confirmation does not pass its state machine\'s input checks', async () => {
    // Prepare
    const lifecycle = LIFECYCLES.find((candidate) => candidate.definitionFile === 'state-machines/netbox-cloud-restore.asl.json');
    if (!lifecycle) throw new Error('no netbox-cloud restore lifecycle');

    // Act
    const reached = await firstTaskReached(loadLocalDefinition(lifecycle), { target: 'netbox-prod', backupId: 'latest', targetInstanceId: 'nb-b23ff000888' });

    // Assess
    expect(reached).toEqual({ task: undefined, failedIn: 'RestoreNotConfirmed' });
  });

  test.each([
    ['drill netbox-prod --allow-version-mismatch', /unknownOption/],
    ['restore', /missingArgument/],
    ['backups netbox-prod', /unknownCommand/],
  ])('a command line the parser refuses fails: %s', async (line, said) => {
    // Act
    const parsed = await parseCommandLine(offsiteArguments(`offsite ${line}`) ?? []);

    // Assess
    expect(parsed.accepted).toBe(false);
    expect(parsed.said).toMatch(said);
  });

  test('only lines that run offsite are read as command lines', () => {
    // Act, Assess
    expect(offsiteArguments('npm start      # the sandbox')).toEqual(['sandbox']);
    expect(offsiteArguments('npm start -- --serve')).toEqual(['sandbox', '--serve']);
    expect(offsiteArguments('npm run offsite -- restore netbox-prod --backup latest --yes')).toEqual(['restore', 'netbox-prod', '--backup', 'latest', '--yes']);
    expect(offsiteArguments('npm test       # type-check')).toBeUndefined();
    expect(offsiteArguments('npx cdk bootstrap')).toBeUndefined();
  });
});
