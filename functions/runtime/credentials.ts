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
    return value;
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
  return extractApiKey(value);
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
