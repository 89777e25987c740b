import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIFECYCLES } from '../../functions/catalog';
import { REPO_ROOT } from '../../bin/local/repo-root';

interface State {
  Type: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  SecondsPath?: string;
  Seconds?: number;
  Choices?: { Variable?: string; Next: string }[];
}

const definitions = LIFECYCLES.map((lifecycle) => ({
  file: lifecycle.definitionFile,
  states: (JSON.parse(readFileSync(join(REPO_ROOT, lifecycle.definitionFile), 'utf8')) as { States: Record<string, State> }).States,
}));

// Calls that create something at the vendor: a repeat could start a second restore or backup.
const CREATING_TASKS = ['RequestBackup', 'RequestRestore'];
const SAFE_TO_REPEAT_FOR_CREATING = new Set(['RateLimited', 'Lambda.TooManyRequestsException']);

describe.each(definitions)('$file', ({ states }) => {
  const tasks = Object.entries(states).filter(([, state]) => state.Type === 'Task');

  test('every Task ends any error it does not retry in a named failure state', () => {
    for (const [name, state] of tasks) {
      const catchAll = state.Catch?.find((catcher) => catcher.ErrorEquals.includes('States.ALL'));
      expect({ name, next: catchAll && states[catchAll.Next]?.Type }).toEqual({ name, next: 'Fail' });
    }
  });

  test('creating calls are repeated only when the vendor or Lambda certainly did not act', () => {
    for (const [name, state] of tasks.filter(([taskName]) => CREATING_TASKS.includes(taskName))) {
      const retried = (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);
      expect({ name, unsafe: retried.filter((error) => !SAFE_TO_REPEAT_FOR_CREATING.has(error)) }).toEqual({ name, unsafe: [] });
    }
  });

  test('every poll loop waits by the backoff the functions compute and leaves when its budget is spent', () => {
    const waits = Object.entries(states).filter(([, state]) => state.Type === 'Wait');
    expect(waits.length).toBeGreaterThan(0);
    for (const [name, wait] of waits) {
      expect({ name, path: wait.SecondsPath }).toEqual({ name, path: expect.stringMatching(/^\$\.\w+\.poll\.waitSeconds$/) });
      const loopChoice = Object.values(states).find((state) => state.Type === 'Choice' && state.Choices?.some((choice) => choice.Variable === wait.SecondsPath?.replace('waitSeconds', 'exhausted')));
      expect({ name, bounded: loopChoice !== undefined }).toEqual({ name, bounded: true });
    }
  });
});
