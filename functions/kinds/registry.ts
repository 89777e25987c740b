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

type AnyKindDefinition = KindDefinition<{ readonly name: string; readonly kind: string }>;

/**
 * What this module exports, built from a list of definitions. The module is built from
 * KIND_LIST; a test builds it from KIND_LIST plus a kind of its own (a fixture kind under
 * test/) and puts it in this module's place (jest.mock), so that the configuration schema,
 * the catalog, the stack, the CLI and the harness all see that kind too.
 */
export function registryOf(kindList: readonly AnyKindDefinition[]) {
  const kinds = Object.fromEntries(kindList.map((kind) => [kind.kind, kind]));
  return {
    KIND_LIST: kindList,
    targetSchemas: kindList.map((kind) => kind.configSchema),
    TARGET_KINDS: kindList.map((kind) => kind.kind),
    KINDS: kinds,
    kindOf: (target: { readonly kind: string }) => kinds[target.kind],
  };
}

const registered = registryOf(KIND_LIST as unknown as readonly AnyKindDefinition[]);

export const TARGET_KINDS = registered.TARGET_KINDS as TargetKind[];

/** By kind; a kind without a complete definition does not compile. */
export const KINDS = registered.KINDS as unknown as { readonly [K in TargetKind]: KindDefinition<TargetOfKind<K>> };

/** The definition of a target's kind, typed for that target. */
export function kindOf<T extends TargetConfig>(target: T): KindDefinition<T> {
  return KINDS[target.kind] as unknown as KindDefinition<T>;
}
