// The one list of kinds of target. Adding a kind is one line in KIND_LIST (see
// functions/kinds/README.md for the files a kind brings); everything else — the
// configuration schema, the function catalog, the stack, the alarms, the CLI, the
// sandbox and the test harness — iterates over it.
import type { z } from 'zod';
import { applianceKind } from './appliance/kind';
import type { KindDefinition } from './kind';
import { netboxCloudKind } from './netbox-cloud/kind';
import { netboxProxboxKind } from './netbox-proxbox/kind';
import { vpsKind } from './vps/kind';

export const KIND_LIST = [netboxCloudKind, applianceKind, vpsKind, netboxProxboxKind] as const;

type KindList = typeof KIND_LIST;

/** Each kind's configuration schema, in registry order (a tuple, so the union of targets is typed). */
// A mapped type over a type parameter keeps a tuple a tuple.
type SchemasOf<Kinds extends readonly unknown[]> = { [I in keyof Kinds]: Kinds[I] extends { configSchema: infer Schema } ? Schema : never };
export const targetSchemas = KIND_LIST.map((kind) => kind.configSchema) as unknown as SchemasOf<KindList>;

export type TargetConfig = z.infer<KindList[number]['configSchema']>;
export type TargetKind = TargetConfig['kind'];
export type TargetOfKind<K extends TargetKind> = Extract<TargetConfig, { kind: K }>;

export const TARGET_KINDS = KIND_LIST.map((kind) => kind.kind) as TargetKind[];

/** By kind; a kind without a complete definition does not compile. */
export const KINDS = Object.fromEntries(KIND_LIST.map((kind) => [kind.kind, kind])) as unknown as { readonly [K in TargetKind]: KindDefinition<TargetOfKind<K>> };

/** The definition of a target's kind, typed for that target. */
export function kindOf<T extends TargetConfig>(target: T): KindDefinition<T> {
  return KINDS[target.kind] as unknown as KindDefinition<T>;
}
