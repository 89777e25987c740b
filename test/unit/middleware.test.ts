import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { lambdaHandler } from '../../functions/middleware/middleware';
import { logger } from '../../functions/runtime/logger';

const context = {
  functionName: 'offsite-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:offsite-test',
  memoryLimitInMB: '256',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

function captureLogLines(): { lines: () => Record<string, unknown>[]; restore: () => void } {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  return {
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => spy.mockRestore(),
  };
}

describe('lambdaHandler', () => {
  test("a handler's log line carries the execution name as correlation_id", async () => {
    // Prepare
    const handler = lambdaHandler(z.object({ executionName: z.string() }), async () => {
      logger.info('step ran');
      return 'done';
    });
    // The test setup silences handler logs; this test reads them.
    const level = logger.getLevelName();
    logger.setLogLevel('INFO');
    const capture = captureLogLines();

    // Act
    try {
      await handler({ executionName: 'appliance-sandbox-20261201T020000' }, context);
    } finally {
      capture.restore();
      logger.setLogLevel(level);
    }

    // Assess
    const line = capture.lines().find((entry) => entry.message === 'step ran');
    expect(line?.correlation_id).toBe('appliance-sandbox-20261201T020000');
    expect(capture.lines().some((entry) => String(entry.message).includes('no search function'))).toBe(false);
  });

  test('bad task input fails as InvalidInput naming the field', async () => {
    // Prepare
    const handler = lambdaHandler(z.object({ target: z.string().min(1) }), async () => 'done');

    // Act
    const outcome = handler({ target: 3 }, context);

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('target') });
  });
});
