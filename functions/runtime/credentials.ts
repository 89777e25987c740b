import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { CredentialsRef, TargetConfig } from '../config/schema';
import { kindOf } from '../kinds/registry';
import { CredentialsUnavailable } from '../shared/errors';

/**
 * Resolves a credential reference inside the function that uses it, so the value never
 * travels through state-machine input, output or history. A secret may hold the value
 * itself or a JSON object with the value under `jsonKey` (e.g. `apiKey`, `password`).
 */
export async function resolveCredential(
  ref: CredentialsRef,
  what: { readonly targetName: string; readonly field: string; readonly jsonKey: string; readonly spacesAllowed?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const { targetName, field } = what;
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) {
      throw new CredentialsUnavailable(`Target "${targetName}": environment variable ${ref.env} (${field}.env) is not set.`);
    }
    return usableCredential(value, `environment variable ${ref.env}`, targetName, what.spacesAllowed ?? false);
  }
  const value = await readSecretString(ref.secret, `${field}.secret`, targetName);
  return usableCredential(extractField(value, what.jsonKey), `secret ${ref.secret}`, targetName, what.spacesAllowed ?? false);
}

/**
 * The credential a target's kind declares at `field` (credentialReferences in its
 * definition: the same list the stack grants and synth warns about).
 */
export async function resolveTargetCredential(target: TargetConfig, field: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const reference = kindOf(target).credentialReferences(target).find((candidate) => candidate.field === field);
  if (!reference) throw new CredentialsUnavailable(`Target "${target.name}" has no credential at ${field}.`);
  if (reference.jsonKey === undefined) return readSecretString('secret' in reference.ref ? reference.ref.secret : '', `${field}.secret`, target.name);
  return resolveCredential(reference.ref, { targetName: target.name, field, jsonKey: reference.jsonKey, spacesAllowed: reference.spacesAllowed }, env);
}

/** A secret's string value, read through Powertools (cached for five minutes in a warm function). */
export async function readSecretString(secretId: string, field: string, targetName: string): Promise<string> {
  let value: string | undefined;
  try {
    const secret = await getSecret(secretId, { maxAge: 300 });
    value = typeof secret === 'string' ? secret : undefined;
  } catch (error) {
    // Powertools wraps the SDK error; its cause says what actually went wrong (not found, access denied).
    const cause = ((error as Error).cause ?? error) as Error;
    throw new CredentialsUnavailable(`Target "${targetName}": cannot read secret ${secretId} (${field}): ${cause.name}: ${cause.message}`);
  }
  if (!value) throw new CredentialsUnavailable(`Target "${targetName}": secret ${secretId} (${field}) has no string value.`);
  return value;
}

/**
 * A credential with whitespace or control characters cannot go into a header, and the
 * HTTP client's complaint would quote the header, value included: refuse it here, unquoted.
 */
function usableCredential(value: string, source: string, targetName: string, spacesAllowed: boolean): string {
  // eslint-disable-next-line no-control-regex
  if ((spacesAllowed ? /[\x00-\x1f\x7f]/ : /[\s\x00-\x1f\x7f]/).test(value)) {
    throw new CredentialsUnavailable(`Target "${targetName}": the credential in ${source} contains whitespace or control characters (a stray newline?).`);
  }
  return value;
}

function extractField(secretValue: string, jsonKey: string): string {
  const trimmed = secretValue.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    // Not JSON after all: the whole value is the credential.
    return trimmed;
  }
  const value = parsed[jsonKey];
  if (typeof value === 'string' && value) return value;
  throw new CredentialsUnavailable(`The secret is a JSON object without a string "${jsonKey}" field.`);
}
