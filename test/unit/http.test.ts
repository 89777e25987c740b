import { NotAuthorized, TransientApiError, VendorApiError } from '../../functions/shared/errors';
import { describeApplianceError } from '../../functions/kinds/appliance/client';
import { describeNetboxCloudError } from '../../functions/kinds/netbox-cloud/client';
import {
  describeBody,
  headerValue,
  parseBody,
  readErrorAnswer,
  requestJson,
  shortBodyText,
  statusError,
  type FetchFn,
  type FetchResponse,
  type StreamedResponse,
} from '../../functions/shared/http';

const OPERATION = 'list backups';

function fetchAnswering(status: number, body: string, headers: Record<string, string> = {}): FetchFn {
  const response: FetchResponse = {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (name) => headers[name.toLowerCase()] ?? null },
    text: () => Promise.resolve(body),
  };
  return () => Promise.resolve(response);
}

function streamed(statusCode: number, body: string | Error, headers: StreamedResponse['headers'] = {}): StreamedResponse {
  return { statusCode, headers, body: { text: () => (body instanceof Error ? Promise.reject(body) : Promise.resolve(body)) } };
}

function get(fetch: FetchFn, idempotent = true): Promise<unknown> {
  return requestJson({ method: 'GET', url: new URL('https://vendor.example/api/backups?sig=secret'), operation: OPERATION, headers: {}, idempotent }, { fetch, timeoutMs: 1000 }, describeBody);
}

describe('headerValue', () => {
  test('a fetch header (string or null) and a Node header (string, string[] or undefined) read as their first value', () => {
    // Prepare
    const values = ['120', ['7', '9'], null, undefined] as const;

    // Act
    const read = values.map((value) => headerValue(value));

    // Assess
    expect(read).toEqual(['120', '7', undefined, undefined]);
  });
});

describe('parseBody', () => {
  test('a JSON body is parsed, any other body becomes its short text, an empty body is undefined', () => {
    // Prepare
    const page = `<html><head><title>502 Bad Gateway</title></head><body>${'<p>x</p>'.repeat(200)}</body></html>`;

    // Act
    const parsed = [parseBody('{"error_id":"E1"}'), parseBody(page), parseBody('')];

    // Assess
    expect(parsed).toEqual([{ error_id: 'E1' }, shortBodyText(page), undefined]);
  });
});

describe('statusError', () => {
  test('429 and 5xx are TransientApiError with the status and the Retry-After seconds', () => {
    // Prepare
    const answers = [429, 500, 503].map((status) => ({ operation: OPERATION, status, retryAfterSeconds: 12 }));

    // Act
    const errors = answers.map((answer) => statusError(answer, 'busy'));

    // Assess
    for (const [index, error] of errors.entries()) {
      expect(error).toBeInstanceOf(TransientApiError);
      expect(error).toMatchObject({ name: 'TransientApiError', status: answers[index]?.status, retryAfterSeconds: 12 });
    }
    expect(errors[1]?.message).toBe('list backups failed: HTTP 500 — busy');
  });

  test('401 and 403 are NotAuthorized, with the caller’s hint of what it likely means', () => {
    // Prepare
    const hint = 'the link may have expired or the credentials are wrong';

    // Act
    const unauthorized = statusError({ operation: 'Download from https://vendor.example', status: 401, retryAfterSeconds: undefined }, '', hint);
    const forbidden = statusError({ operation: OPERATION, status: 403, retryAfterSeconds: undefined }, 'denied');

    // Assess
    expect(unauthorized).toBeInstanceOf(NotAuthorized);
    expect(unauthorized.message).toBe(`Download from https://vendor.example failed: HTTP 401 (${hint})`);
    expect(forbidden).toBeInstanceOf(NotAuthorized);
    expect(forbidden.message).toBe('list backups failed: HTTP 403 — denied');
  });

  test('any other status is VendorApiError with the status, and no dash when there is nothing to quote', () => {
    // Prepare
    const answer = { operation: OPERATION, status: 404, retryAfterSeconds: 5 };

    // Act
    const error = statusError(answer, '');

    // Assess
    expect(error).toBeInstanceOf(VendorApiError);
    expect(error).toMatchObject({ status: 404, message: 'list backups failed: HTTP 404' });
  });
});

describe('readErrorAnswer (streamed responses)', () => {
  test('reads the body as parseBody does and the Retry-After from a Node header record', async () => {
    // Prepare
    const response = streamed(503, '{"error_text":"rebooting"}', { 'retry-after': ['30', '60'] });

    // Act
    const answer = await readErrorAnswer(response, 'GET', 'download appliance backup b1');

    // Assess
    expect(answer).toEqual({ method: 'GET', operation: 'download appliance backup b1', status: 503, body: { error_text: 'rebooting' }, retryAfterSeconds: 30 });
  });

  test('a body that breaks off while it is read counts as empty', async () => {
    // Prepare
    const response = streamed(500, new Error('socket hang up'));

    // Act
    const answer = await readErrorAnswer(response, 'POST', 'upload backup to the appliance');

    // Assess
    expect(answer.body).toBeUndefined();
    expect(statusError(answer, describeBody(answer.body)).message).toBe('upload backup to the appliance failed: HTTP 500');
  });
});

describe('requestJson maps statuses the same way', () => {
  test('a 503 to a creating call is TransientApiError with its Retry-After, quoting the body', async () => {
    // Prepare
    const fetch = fetchAnswering(503, 'Service Unavailable', { 'retry-after': '600' });

    // Act
    const failure = get(fetch, false);

    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'TransientApiError', status: 503, retryAfterSeconds: 600, message: 'list backups failed: HTTP 503 — Service Unavailable' });
  });

  test('a 403 is NotAuthorized and a 409 VendorApiError', async () => {
    // Prepare
    const forbidden = fetchAnswering(403, '');
    const conflict = fetchAnswering(409, '{"detail":"busy"}');

    // Act
    const failures = [get(forbidden), get(conflict)];

    // Assess
    await expect(failures[0]).rejects.toMatchObject({ name: 'NotAuthorized', message: 'list backups failed: HTTP 403' });
    await expect(failures[1]).rejects.toMatchObject({ name: 'VendorApiError', status: 409, message: 'list backups failed: HTTP 409' });
  });
});

describe('vendor error describers', () => {
  test('quote a text body as parseBody left it: cut once, with the size of the body that came', () => {
    // Prepare
    const page = `<html><head><title>${'Bad gateway '.repeat(30)}</title></head><body>${'<p>x</p>'.repeat(100)}</body></html>`;
    const long = 'stack trace line\n'.repeat(400);
    const bodies = [parseBody(page), parseBody(long)];

    // Act
    const described = bodies.map((body) => [describeApplianceError(body), describeNetboxCloudError(body)]);

    // Assess
    expect(described).toEqual([
      [shortBodyText(page), shortBodyText(page)],
      [shortBodyText(long), shortBodyText(long)],
    ]);
    expect(described[0]?.[1]).toContain(`(HTML page, ${Buffer.byteLength(page)} bytes)`);
  });
});
