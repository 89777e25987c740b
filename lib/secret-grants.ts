import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import type { CredentialsRef, OffsiteConfig, TargetConfig } from '../functions/config/schema';
import { DEFAULT_SECRET_PREFIX } from '../functions/config/schema';
import type { TargetKind } from '../functions/kinds/registry';
import { kindOf } from '../functions/kinds/registry';

// Secrets are granted by name prefix, never one ARN per target: a function's policy is the
// same for 1 target and 1,000 (IAM allows a role 10,240 characters of inline policy, a
// managed policy 6,144). The configuration declares the prefix (`secretPrefix`, default
// "offsite/"); each kind's functions may read `<prefix><kind>/*`, the drill checks
// `<prefix>drill/*` and the drill destinations' `<prefix><kind>/drill/*`. Synth refuses a
// target whose secret lies outside the place its readers are granted.

/** Where one referenced secret must be named, and why. */
export interface SecretPlacement {
  /** The target whose configuration references it; undefined for the archive's own (archive.secondary.credentials). */
  readonly target: string | undefined;
  /** The configuration field holding the reference, e.g. "auth.password". */
  readonly field: string;
  /** The secret as configured: a name or an ARN. */
  readonly secret: string;
  /** The name prefix its readers are granted, e.g. "offsite/appliance/". */
  readonly expectedPrefix: string;
  /** Who reads it under that prefix, for the error message. */
  readonly readers: string;
  /** Whether the drill checks read it (their grant covers expectedPrefix). */
  readonly drillReads: boolean;
}

export function secretPrefixOf(config: OffsiteConfig): string {
  return config.secretPrefix ?? DEFAULT_SECRET_PREFIX;
}

/** `<prefix><kind>/`: every secret a kind's functions read. */
export const kindSecretPrefix = (config: OffsiteConfig, kind: TargetKind): string => `${secretPrefixOf(config)}${kind}/`;
/** `<prefix>archive/`: the secondary archive's access key, which the functions working in the secondary read. */
export const archiveSecretPrefix = (config: OffsiteConfig): string => `${secretPrefixOf(config)}archive/`;
/** `<prefix>drill/`: the drills' own tokens (the restored and source NetBox APIs). */
export const drillSecretPrefix = (config: OffsiteConfig): string => `${secretPrefixOf(config)}drill/`;
/** `<prefix><kind>/drill/`: drill destinations' credentials, which the kind's functions (restoring onto them) and the drill checks both read. */
export const drillDestinationSecretPrefix = (config: OffsiteConfig, kind: TargetKind): string => `${kindSecretPrefix(config, kind)}drill/`;

interface DrillBlock {
  readonly to: string | number;
  readonly checks?: { readonly restored?: { readonly credentials: CredentialsRef }; readonly source?: { readonly credentials: CredentialsRef } };
}
const drillOf = (target: TargetConfig): DrillBlock | undefined => (target as { drill?: DrillBlock }).drill;

/**
 * The targets whose credentials a drill's checks use to reach its destination, as the
 * kind's drill rules name them (checksUseCredentialsOf; none for a kind whose checks bring
 * their own tokens).
 */
export function drillDestinationTargets(config: OffsiteConfig, target: TargetConfig): TargetConfig[] {
  if (!drillOf(target)) return [];
  const rules = kindOf(target).drill as { checksUseCredentialsOf?: (target: TargetConfig, context: OffsiteConfig) => readonly string[] } | undefined;
  const names = rules?.checksUseCredentialsOf?.(target, config) ?? [];
  return config.targets.filter((candidate) => names.includes(candidate.name));
}

/** Every secret the configuration references, with the prefix it must be named under. */
export function secretPlacements(config: OffsiteConfig): SecretPlacement[] {
  const placements: SecretPlacement[] = [];
  const destinations = new Set(config.targets.flatMap((target) => drillDestinationTargets(config, target)).map((target) => target.name));
  for (const target of config.targets) {
    const title = kindOf(target).title;
    for (const { field, ref } of kindOf(target).credentialReferences(target)) {
      if (!('secret' in ref)) continue;
      placements.push(
        destinations.has(target.name)
          ? { target: target.name, field: `${field}.secret`, secret: ref.secret, expectedPrefix: drillDestinationSecretPrefix(config, target.kind), readers: `a drill destination: the ${title} functions and the drill checks`, drillReads: true }
          : { target: target.name, field: `${field}.secret`, secret: ref.secret, expectedPrefix: kindSecretPrefix(config, target.kind), readers: `the ${title} functions`, drillReads: false },
      );
    }
    const checks = drillOf(target)?.checks;
    for (const [name, api] of [['restored', checks?.restored], ['source', checks?.source]] as const) {
      if (api && 'secret' in api.credentials) {
        placements.push({ target: target.name, field: `drill.checks.${name}.credentials.secret`, secret: api.credentials.secret, expectedPrefix: drillSecretPrefix(config), readers: 'the drill checks', drillReads: true });
      }
    }
  }
  const secondaryCredentials = config.archive.secondary?.credentials;
  if (secondaryCredentials && 'secret' in secondaryCredentials) {
    placements.push({ target: undefined, field: 'archive.secondary.credentials.secret', secret: secondaryCredentials.secret, expectedPrefix: archiveSecretPrefix(config), readers: 'the functions working in the secondary archive', drillReads: false });
  }
  return placements;
}

/**
 * The name prefixes the drill checks may read: `<prefix>drill/` when a drill's checks use a
 * secret, `<prefix><kind>/drill/` for each kind whose drill destinations' credentials are secrets.
 */
export function drillSecretPrefixes(config: OffsiteConfig): string[] {
  return [...new Set(secretPlacements(config).filter((placement) => placement.drillReads).map((placement) => placement.expectedPrefix))];
}

/** The secret's name: itself, or the resource part of a Secrets Manager ARN (with or without its six-character suffix). */
function nameOf(secret: string): { name: string; region?: string; account?: string } | undefined {
  if (!secret.startsWith('arn:')) return { name: secret };
  const match = /^arn:[a-z-]+:secretsmanager:([a-z0-9-]*):(\d*):secret:(.+)$/.exec(secret);
  if (!match) return undefined;
  return { region: match[1] ?? '', account: match[2] ?? '', name: match[3] ?? '' };
}

/**
 * What is wrong with each placement, in words naming the target, the field, the value and
 * what was expected (empty when every secret is where its readers are granted). Region and
 * account of an ARN are compared only when the stack's environment names them.
 */
export function secretPlacementErrors(config: OffsiteConfig, stack: { readonly region: string; readonly account: string }): string[] {
  const errors: string[] = [];
  for (const placement of secretPlacements(config)) {
    const where = `${placement.target === undefined ? '' : `Target "${placement.target}": `}${placement.field} is "${placement.secret}"`;
    const parsed = nameOf(placement.secret);
    if (!parsed) {
      errors.push(`${where}; expected a secret name or a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>).`);
      continue;
    }
    if (!parsed.name.startsWith(placement.expectedPrefix)) {
      errors.push(
        `${where}; expected a secret named under "${placement.expectedPrefix}" (e.g. "${placement.expectedPrefix}${placement.target ?? 'secondary'}"): ${placement.readers} may read only secrets named ${placement.expectedPrefix}* (secretPrefix "${secretPrefixOf(config)}"). Rename the secret or set secretPrefix.`,
      );
      continue;
    }
    if (parsed.region !== undefined && !Token.isUnresolved(stack.region) && parsed.region !== stack.region) {
      errors.push(`${where}; expected a secret in ${stack.region}, the stack's region (the functions are granted secrets of their own region and account only).`);
    } else if (parsed.account !== undefined && !Token.isUnresolved(stack.account) && parsed.account !== stack.account) {
      errors.push(`${where}; expected a secret in account ${stack.account}, the stack's account (the functions are granted secrets of their own region and account only).`);
    }
  }
  return errors;
}

/** The IAM resource for every secret named under `namePrefix` in the stack's region and account (Fn::Join of partition, region, account when the environment is not given). */
export function secretsUnder(stack: Stack, namePrefix: string): string {
  return stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${namePrefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** How cdk-nag names that resource in an AwsSolutions-IAM5 finding (literal region and account when the environment gives them). */
export function secretsUnderNagId(stack: Stack, namePrefix: string): string {
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${namePrefix}*]`;
}
