import { z } from 'zod';
import { NotAuthorized, VendorApiError } from '../../shared/errors';
import { requestJson, type HttpOptions, type JsonRequest } from '../../shared/http';

/** Produces the Authorization header for appliance calls, and forgets a token the appliance rejected. */
export interface ApplianceAuthenticator {
  authorization(): Promise<string>;
  /** The appliance answered 401: drop any cached token so the next call gets a new one. */
  rejected(): void;
  /** True when a 401 may be cured by getting a new token (not for Basic). */
  readonly renewable: boolean;
  /** Values that must never appear in a message (password, encoded forms, tokens issued). */
  sensitiveValues(): string[];
}

export type ApplianceLogin =
  | { readonly method: 'basic'; readonly username: string; readonly password: string }
  | { readonly method: 'token'; readonly apiVersion: '1.0' | '2.0'; readonly username: string; readonly password: string }
  | {
      readonly method: 'oauth2';
      readonly tokenPath: string;
      readonly grantType: 'access_code' | 'client_credentials';
      readonly clientId?: string;
      readonly secret: string;
    };

export interface CachedToken {
  readonly accessToken: string;
  /** Epoch milliseconds after which the token is not used any more. */
  readonly renewAfterMs: number;
}

/** Where tokens are kept between calls; a module-level Map in a Lambda survives warm invocations. */
export type TokenCache = Map<string, CachedToken>;

export const sharedTokenCache: TokenCache = new Map();

/** Renew this long before the appliance says a token expires, so no call goes out with a dying token. */
const RENEW_MARGIN_MS = 60_000;
/**
 * The token answers seen publicly carry `expires_at` (AppResponse) or `expires_in`
 * (OAuth 2). When an appliance sends neither, assume a short life; a 401 renews it anyway.
 */
const ASSUMED_TOKEN_LIFE_MS = 10 * 60_000;

const tokenAnswer = z.looseObject({
  access_token: z.string().min(1),
  expires_at: z.number().optional(),
  expires_in: z.number().optional(),
});

export interface AuthenticatorOptions {
  readonly baseUrl: string;
  readonly login: ApplianceLogin;
  readonly http: HttpOptions;
  readonly cache?: TokenCache;
  readonly now?: () => number;
}

export function applianceAuthenticator(options: AuthenticatorOptions): ApplianceAuthenticator {
  const { login } = options;
  if (login.method === 'basic') {
    const encoded = Buffer.from(`${login.username}:${login.password}`, 'utf8').toString('base64');
    const header = `Basic ${encoded}`;
    return { authorization: () => Promise.resolve(header), rejected: () => undefined, renewable: false, sensitiveValues: () => [login.password, encoded] };
  }
  const cache = options.cache ?? sharedTokenCache;
  const now = options.now ?? Date.now;
  const cacheKey = `${options.baseUrl}\n${login.method}\n${login.method === 'token' ? login.username : (login.clientId ?? '')}`;
  const issued: string[] = [];
  return {
    renewable: true,
    sensitiveValues: () => [login.method === 'token' ? login.password : login.secret, ...issued],
    rejected: () => {
      cache.delete(cacheKey);
    },
    async authorization() {
      const cached = cache.get(cacheKey);
      if (cached && cached.renewAfterMs > now()) {
        if (!issued.includes(cached.accessToken)) issued.push(cached.accessToken);
        return `Bearer ${cached.accessToken}`;
      }
      const token = await requestToken(options.baseUrl, login, options.http, now);
      cache.set(cacheKey, token);
      issued.push(token.accessToken);
      return `Bearer ${token.accessToken}`;
    },
  };
}

async function requestToken(baseUrl: string, login: Exclude<ApplianceLogin, { method: 'basic' }>, http: HttpOptions, now: () => number): Promise<CachedToken> {
  const what = login.method === 'token' ? `appliance token (POST /api/mgmt.aaa/${login.apiVersion}/token)` : `appliance OAuth 2 token (POST ${login.tokenPath})`;
  // The answer to a refused login never goes into the message: some appliances echo the request.
  const refused = (status: number): Error =>
    status === 400 || status === 401 || status === 403
      ? new NotAuthorized(
          `The appliance refused ${login.method === 'token' ? 'the user name or password (auth.username, auth.password)' : 'the OAuth 2 grant (auth.secret)'}: HTTP ${status} from ${what}.`,
        )
      : new VendorApiError(`${what} failed: HTTP ${status}`, status);
  const request: JsonRequest =
    login.method === 'token'
      ? {
          method: 'POST' as const,
          url: new URL(`/api/mgmt.aaa/${login.apiVersion}/token`, baseUrl),
          operation: `get ${what}`,
          headers: {},
          body: { user_credentials: { username: login.username, password: login.password }, generate_refresh_token: false },
          idempotent: true,
        }
      : {
          method: 'POST' as const,
          url: new URL(login.tokenPath, baseUrl),
          operation: `get ${what}`,
          headers: {},
          form:
            login.grantType === 'access_code'
              ? { grant_type: 'access_code', assertion: login.secret }
              : { grant_type: 'client_credentials', client_id: login.clientId ?? '', client_secret: login.secret },
          idempotent: true,
        };
  const answer = await requestJson(
    request,
    { ...http, mapError: (context) => (context.status >= 500 || context.status === 429 ? undefined : refused(context.status)) },
    () => '',
  );
  const parsed = tokenAnswer.safeParse(answer);
  if (!parsed.success) throw new VendorApiError(`${what} answered without an access_token.`);
  const issuedAt = now();
  const expiresAtMs =
    parsed.data.expires_at !== undefined
      ? parsed.data.expires_at * 1000
      : parsed.data.expires_in !== undefined
        ? issuedAt + parsed.data.expires_in * 1000
        : issuedAt + ASSUMED_TOKEN_LIFE_MS;
  // A token that lives shorter than the margin is still used once rather than never.
  const renewAfterMs = Math.max(issuedAt + 1000, expiresAtMs - RENEW_MARGIN_MS);
  return { accessToken: parsed.data.access_token, renewAfterMs };
}
