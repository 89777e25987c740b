import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../bin/local/repo-root';
import { kindCommandsModule } from '../../bin/cli/kind-commands';
import { loadSandboxKind } from '../../bin/sandbox/kinds';
import { ARCHIVE_JOBS } from '../../functions/archive/jobs';
import { FUNCTIONS } from '../../functions/catalog';
import type { KindAlarmHints, LifecyclePurpose } from '../../functions/kinds/kind';
import { KIND_LIST, KINDS, TARGET_KINDS } from '../../functions/kinds/registry';

// What the compiler cannot see: the files a definition names, and that a kind's state
// machines call only that kind's own functions (which hold only its secrets and network).
describe.each(KIND_LIST.map((definition) => ({ kind: definition.kind, definition })))('kind $kind', ({ kind, definition }) => {
  const aslOf = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');

  test('is registered under its own name', () => {
    expect(KINDS[kind]).toBe(definition);
    expect(TARGET_KINDS).toContain(kind);
  });

  test('has one backup and one restore lifecycle, or only an audit (restore rules exactly with a restore lifecycle), whose ASL files exist', () => {
    const purposes = definition.lifecycles.map((lifecycle) => lifecycle.purpose).sort();
    expect([['backup', 'restore'], ['audit']]).toContainEqual(purposes);
    expect({ restoreRules: 'restore' in definition && definition.restore !== undefined }).toEqual({ restoreRules: purposes.includes('restore') });
    for (const lifecycle of definition.lifecycles) expect({ file: lifecycle.definitionFile, exists: existsSync(join(REPO_ROOT, lifecycle.definitionFile)) }).toEqual({ file: lifecycle.definitionFile, exists: true });
  });

  test("its state machines call only its own functions (and the archive's own jobs, which hold no vendor secret), and every one of its own is called", () => {
    const own = new Set<string>(definition.functions.map((fn) => fn.id));
    const archiveJobs = new Set<string>(ARCHIVE_JOBS.functions.map((fn) => fn.id));
    const called = new Set(definition.lifecycles.flatMap((lifecycle) => [...aslOf(lifecycle.definitionFile).matchAll(/\$\{([A-Za-z0-9]+)FunctionArn\}/g)].map((match) => match[1] ?? '')));
    expect([...called].filter((id) => !own.has(id) && !archiveJobs.has(id))).toEqual([]);
    expect([...own].filter((id) => !called.has(id))).toEqual([]);
  });

  test('its handlers live in its folder and export a handler', () => {
    for (const fn of definition.functions) {
      expect({ id: fn.id, entry: fn.entry }).toEqual({ id: fn.id, entry: expect.stringMatching(new RegExp(`^functions/kinds/${kind}/handlers/[a-z-]+\\.ts$`)) });
      expect({ id: fn.id, exists: existsSync(join(REPO_ROOT, fn.entry)) }).toEqual({ id: fn.id, exists: true });
      expect(aslOf(fn.entry)).toMatch(/export const handler = /);
    }
  });

  test('brings its sandbox part, which the sandbox loads by its folder (bin/sandbox/<kind>/sandbox-round.ts)', () => {
    // Act
    const entry = loadSandboxKind(kind);

    // Assess
    expect({ kind, shorthand: typeof entry.shorthand, start: typeof entry.start, round: typeof entry.round }).toEqual({ kind, shorthand: 'string', start: 'function', round: 'function' });
  });

  test('its command-line hooks, when it names a file (cli), live in its folder and export kindCommands; an auditing kind presents its report', () => {
    // Prepare
    const file = (definition as { readonly cli?: string }).cli;
    const audits = definition.lifecycles.some((lifecycle) => lifecycle.purpose === 'audit');

    // Act
    const commands = file === undefined ? {} : (kindCommandsModule(file) as { kindCommands?: { audit?: unknown } }).kindCommands;

    // Assess
    if (file !== undefined) expect(file).toMatch(new RegExp(`^functions/kinds/${kind}/`));
    expect({ kind, commands: commands !== undefined, presentsAudit: typeof commands?.audit === 'function' }).toEqual({ kind, commands: true, presentsAudit: audits });
  });

  test("explains in `offsite restore --help` each restore option it takes beyond --backup, and only those", () => {
    // Prepare
    const restore = (definition as { readonly restore?: { readonly options: readonly string[]; readonly optionHelp?: Readonly<Record<string, string>> } }).restore;

    // Act
    const explained = Object.keys(restore?.optionHelp ?? {}).sort();

    // Assess
    expect({ kind, explained }).toEqual({ kind, explained: (restore?.options ?? []).filter((option) => option !== 'backup').sort() });
  });

  test('its transfer states are states of its lifecycles', () => {
    for (const lifecycle of definition.lifecycles) {
      const state = (definition.transferStates as Partial<Record<LifecyclePurpose, string | undefined>>)[lifecycle.purpose];
      if (state === undefined) continue;
      const states = Object.keys((JSON.parse(aslOf(lifecycle.definitionFile)) as { States: Record<string, unknown> }).States);
      expect({ purpose: lifecycle.purpose, state, known: states.includes(state) }).toEqual({ purpose: lifecycle.purpose, state, known: true });
    }
  });

  test('tells the on-call person what to check for every alarm of its lifecycles', () => {
    const hints: KindAlarmHints = definition.alarmHints;
    const purposes = new Set(definition.lifecycles.map((lifecycle) => lifecycle.purpose));
    const expected: Partial<Record<LifecyclePurpose, readonly string[]>> = {
      backup: ['backupFailed', 'backupTimedOut'],
      restore: ['restoreFailed', 'restoreStillRunning'],
      audit: ['audit.auditFailed', 'audit.coverageGap'],
    };
    const { audit: _audit, ...flat } = hints;
    const texts: Record<string, string | undefined> = { ...flat, 'audit.auditFailed': hints.audit?.auditFailed, 'audit.coverageGap': hints.audit?.coverageGap };
    for (const alarm of [...purposes].flatMap((purpose) => expected[purpose] ?? [])) expect({ alarm, length: (texts[alarm] ?? '').length > 20 }).toEqual({ alarm, length: true });
  });
});

test('exactly one kind offers the restore the sandbox plays in remote mode, and the shorthands are distinct', () => {
  // Act
  const entries = TARGET_KINDS.map((kind) => loadSandboxKind(kind));

  // Assess
  expect(entries.filter((entry) => entry.remoteRestore !== undefined)).toHaveLength(1);
  expect(new Set(entries.map((entry) => entry.shorthand)).size).toBe(entries.length);
});

test('function ids are unique across kinds', () => {
  const ids = FUNCTIONS.map((fn) => fn.id);
  expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
});
