import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { CredentialsRef } from '../config/schema';
import { CredentialsUnavailable } from '../shared/errors';

/**
 * Resolves a credential reference inside the function that uses it, so the value never
 * travels through state-machine input, output or history. A secret may hold the key
 * itself or a JSON object with an `apiKey` field.
 */
export async function resolveApiKey(ref: CredentialsRef, targetName: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) {
      throw new CredentialsUnavailable(`Target "${targetName}": environment variable ${ref.env} (credentials.env) is not set.`);
    }
    return usableKey(value, `environment variable ${ref.env}`, targetName);
  }
  let value: string | undefined;
  try {
    const secret = await getSecret(ref.secret, { maxAge: 300 });
    value = typeof secret === 'string' ? secret : undefined;
  } catch (error) {
    // Powertools wraps the SDK error; its cause says what actually went wrong (not found, access denied).
    const cause = ((error as Error).cause ?? error) as Error;
    throw new CredentialsUnavailable(`Target "${targetName}": cannot read secret ${ref.secret} (credentials.secret): ${cause.name}: ${cause.message}`);
  }
  if (!value) throw new CredentialsUnavailable(`Target "${targetName}": secret ${ref.secret} has no string value.`);
  return usableKey(extractApiKey(value), `secret ${ref.secret}`, targetName);
}

/**
 * A key with whitespace or control characters cannot go into a header, and the HTTP
 * client's complaint would quote the header, key included: refuse it here, unquoted.
 */
function usableKey(key: string, source: string, targetName: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(key)) {
    throw new CredentialsUnavailable(`Target "${targetName}": the API key in ${source} contains whitespace or control characters (a stray newline?).`);
  }
  return key;
}

function extractApiKey(secretValue: string): string {
  const trimmed = secretValue.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    const parsed = JSON.parse(trimmed) as { apiKey?: unknown };
    if (typeof parsed.apiKey === 'string' && parsed.apiKey) return parsed.apiKey;
  } catch {
    // Not JSON after all: the whole value is the key.
    return trimmed;
  }
  throw new CredentialsUnavailable('The secret is a JSON object without a string "apiKey" field.');
}
