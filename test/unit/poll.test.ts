import { advancePoll, maxPollAttempts, startPoll } from '../../functions/shared/poll';

describe('poll backoff', () => {
  const policy = { initialSeconds: 15, maxSeconds: 300, timeoutMinutes: 180 };

  test('doubles the wait from initialSeconds up to maxSeconds', () => {
    // Act
    const waits: number[] = [];
    let state = startPoll(policy);
    for (let i = 0; i < 8; i += 1) {
      waits.push(state.waitSeconds);
      state = advancePoll(state, policy);
    }

    // Assess
    expect(waits).toEqual([15, 30, 60, 120, 240, 300, 300, 300]);
  });

  test('is exhausted once the waits add up to timeoutMinutes', () => {
    // Prepare
    const short = { initialSeconds: 10, maxSeconds: 20, timeoutMinutes: 1 };

    // Act
    const states = [startPoll(short)];
    while (!states.at(-1)?.exhausted) states.push(advancePoll(states.at(-1) ?? startPoll(short), short));

    // Assess: 10 + 20 + 20 + 10 (the last wait is trimmed to the budget) = 60 s.
    expect(states.map((state) => state.elapsedSeconds)).toEqual([0, 10, 30, 50, 60]);
    expect(states.at(-1)).toMatchObject({ attempt: 4, exhausted: true });
  });

  test('bounds every loop: the default policy allows a finite number of checks', () => {
    // Act / Assess: 15+30+60+120+240 = 465 s, then 300 s steps to 10 800 s.
    expect(maxPollAttempts(policy)).toBe(40);
  });
});
