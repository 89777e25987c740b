// Riverbed authentication: a bearer token from the mgmt.aaa token resource (user
// credentials) or the common OAuth token resource (an access code), or Basic
// credentials on every call. The document does not cover these; they follow Riverbed's
// common API.
import { randomBytes } from 'node:crypto';
import { bearerToken, sameSecret } from '../kit/auth';
import { jsonObject, parseJson } from '../kit/http';
import { fail, oauthFail } from './errors';
import type { RecordedApplianceRequest } from './index';

export type AuthKind = RecordedApplianceRequest['auth'];

export interface Credentials {
  username: string;
  password: string;
  oauthAccessCode: string;
  tokenTtlMs: number;
}

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export class ApplianceAuth {
  private readonly tokens = new Map<string, number>();
  tokensIssued = 0;
  readonly issuedTokens: string[] = [];

  constructor(private readonly credentials: Credentials) {}

  /** What an Authorization header amounts to; the header itself is never kept. */
  classify(header: string | undefined): AuthKind {
    if (header === undefined || header.trim() === '') return 'none';
    const token = bearerToken(header);
    if (token !== undefined) {
      const expiresAtMs = this.tokens.get(token);
      return expiresAtMs !== undefined && Date.now() < expiresAtMs ? 'token' : 'invalid';
    }
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0 && sameSecret(decoded.slice(0, colon), this.credentials.username) && sameSecret(decoded.slice(colon + 1), this.credentials.password)) return 'basic';
    }
    return 'invalid';
  }

  /** Every issued token becomes invalid (a reboot, or expireTokens()). */
  expireAll(): void {
    this.tokens.clear();
  }

  private issue(): { token: string; expiresAtMs: number } {
    const token = randomBytes(32).toString('base64url');
    const expiresAtMs = Date.now() + this.credentials.tokenTtlMs;
    this.tokens.set(token, expiresAtMs);
    this.tokensIssued += 1;
    this.issuedTokens.push(token);
    return { token, expiresAtMs };
  }

  /** POST /api/mgmt.aaa/{1,2}.0/token with {user_credentials: {username, password}}. */
  passwordToken(body: Buffer): { status: number; json: unknown } {
    const fields = jsonObject(parseJson(body), (message) => fail(400, 'REQUEST_INVALID_INPUT', message));
    const credentials = fields['user_credentials'];
    if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) {
      fail(400, 'REQUEST_INVALID_INPUT', 'user_credentials: an object with username and password is required.');
    }
    const { username: presentedUser, password: presentedPassword } = credentials as Record<string, unknown>;
    if (typeof presentedUser !== 'string' || typeof presentedPassword !== 'string') {
      fail(400, 'REQUEST_INVALID_INPUT', 'user_credentials: username and password must be strings.');
    }
    if (!sameSecret(presentedUser, this.credentials.username) || !sameSecret(presentedPassword, this.credentials.password)) {
      fail(401, 'AUTH_INVALID_CREDENTIALS', 'Invalid username or password.');
    }
    const { token, expiresAtMs } = this.issue();
    return { status: 201, json: { access_token: token, token_type: 'bearer', expires_at: Math.floor(expiresAtMs / 1000) } };
  }

  /** POST /api/common/1.0/oauth/token, form-encoded grant_type=access_code&assertion=…[&state=…]. */
  oauthToken(contentType: string | undefined, body: Buffer): { status: number; json: unknown } {
    if (mediaType(contentType) !== 'application/x-www-form-urlencoded') {
      oauthFail('invalid_request', 'The request body must be application/x-www-form-urlencoded.');
    }
    const form = new URLSearchParams(body.toString('utf8'));
    const grantType = form.get('grant_type');
    if (grantType !== 'access_code') oauthFail('unsupported_grant_type', 'grant_type must be access_code.');
    const assertion = form.get('assertion');
    if (assertion === null || !sameSecret(assertion, this.credentials.oauthAccessCode)) oauthFail('invalid_grant', 'The access code is not valid.');
    const { token } = this.issue();
    const state = form.get('state');
    return {
      status: 200,
      json: { access_token: token, token_type: 'bearer', expires_in: Math.floor(this.credentials.tokenTtlMs / 1000), ...(state === null ? {} : { state }) },
    };
  }
}
