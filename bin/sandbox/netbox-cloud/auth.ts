// NetBox Cloud authenticates every API call with `Authorization: Bearer <API key>`.
// Presigned downloads carry their own signature instead (see downloads.ts).
import { bearerToken, sameSecret } from '../kit/auth';
import { fail } from './errors';

export function isAuthorized(header: string | undefined, apiKey: string): boolean {
  const token = bearerToken(header);
  return token !== undefined && sameSecret(token, apiKey);
}

/** The 401 for a call that is not authorized: a missing key and a wrong one are told apart. */
export function refuseUnauthorized(header: string | undefined): never {
  fail(401, header ? 'Invalid or expired API key.' : 'Authentication credentials were not provided.');
}
