// NetBox Cloud's error body, {error_code, error_message, error_details, error_reference_id},
// and the refusals the routes throw with it.
import { randomUUID } from 'node:crypto';
import { Refusal } from '../kit/http';

export type ErrorBody = {
  error_code: string;
  error_message: string;
  error_details: unknown;
  error_reference_id: string;
};

const ERROR_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export function errorBody(status: number, message: string, details: unknown = null, code?: string): ErrorBody {
  return {
    error_code: code ?? ERROR_CODES[status] ?? `HTTP_${status}`,
    error_message: message,
    error_details: details,
    error_reference_id: randomUUID(),
  };
}

export function fail(status: number, message: string, details: unknown = null, code?: string, headers: Record<string, string> = {}): never {
  throw new Refusal(status, errorBody(status, message, details, code), headers);
}

export function fieldError(field: string, problem: string): never {
  fail(400, `${field}: ${problem}`, { [field]: [problem] }, 'VALIDATION_ERROR');
}
