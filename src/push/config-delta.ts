/**
 * Incremental config pushes: what changed between two ProxyConfigs, keyed so that a change to one service carries
 * only that service. The control plane writes a `config-delta` against the version it last sent; the proxy merges
 * it into the config it last applied and validates the merged whole as it does a full config, so a delta is applied
 * atomically or NACKed. A delta against a version the proxy does not hold is never merged: the proxy asks for a
 * full config (`resync`).
 *
 * Keyed lists: `outbound.services` by host, `outbound.externals` by source. A list whose items share a key (one
 * ServiceEntry split by Sidecar port filters) travels whole. Everything else is a top-level section replaced whole.
 */
import { z } from 'zod';
import { WeftError } from '../errors.js';
import { isConfigDeltaShape } from './config-delta-shape.js';

/** The hello capability a proxy names to receive deltas; a proxy that does not name it gets full configs. */
export const CONFIG_DELTA_FEATURE = 'config-delta';

/** Top-level sections a delta replaces whole. */
export const DELTA_SECTIONS = ['schema', 'proxy', 'trustDomain', 'inbound', 'gateway', 'security', 'telemetry', 'telemetryPolicy'] as const;

const keyedChange = z.strictObject({
  /** The whole list, when its keys are not unique. */
  all: z.array(z.unknown()).optional(),
  /** Items added or changed, each whole. */
  set: z.array(z.unknown()).optional(),
  remove: z.array(z.string()).optional(),
  /** The keys in their new order; sent whenever the set of keys changes. */
  order: z.array(z.string()).optional(),
});

/** The schema a delta is checked against (config-delta-shape.ts checks the common case without it). */
export const configDeltaSchema = z.strictObject({
  type: z.literal('config-delta'),
  /** The version this delta applies to. */
  base: z.string().min(1),
  /** The version the merged result is. */
  version: z.string().min(1),
  sections: z
    .strictObject(Object.fromEntries(DELTA_SECTIONS.map((k) => [k, z.unknown().optional()])) as Record<(typeof DELTA_SECTIONS)[number], z.ZodOptional<z.ZodUnknown>>)
    .optional(),
  outbound: z
    .strictObject({
      trafficPolicy: z.unknown().optional(),
      /** Replaced whole; null: the member is gone. */
      externalRoutes: z.unknown().optional(),
      egressGatewayHosts: z.unknown().optional(),
      services: keyedChange.optional(),
      externals: keyedChange.optional(),
    })
    .optional(),
});

export type KeyedChange = z.infer<typeof keyedChange>;
export type ConfigDelta = z.infer<typeof configDeltaSchema>;

/** A delta message read off the wire; anything else is PUSH_FRAME_INVALID. */
const SECTION_KEYS: ReadonlySet<string> = new Set(DELTA_SECTIONS);

export function parseConfigDelta(msg: unknown): ConfigDelta {
  if (isConfigDeltaShape(msg, SECTION_KEYS)) return msg;
  const parsed = configDeltaSchema.safeParse(msg);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WeftError('PUSH_FRAME_INVALID', `config delta is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A list item with its key and its JSON text, for the control plane's diff. */
export interface KeyedJson {
  key: string;
  json: string;
}

function uniqueKeys(items: readonly KeyedJson[]): boolean {
  return new Set(items.map((i) => i.key)).size === items.length;
}

/**
 * The JSON text of a KeyedChange from `before` to `after`, or undefined when they are equal. Items are compared by
 * their JSON text, which compile produces deterministically.
 */
export function keyedChangeJson(before: readonly KeyedJson[], after: readonly KeyedJson[]): string | undefined {
  if (!uniqueKeys(after) || !uniqueKeys(before)) {
    const same = before.length === after.length && before.every((b, i) => b.key === after[i]?.key && b.json === after[i]?.json);
    return same ? undefined : `{"all":[${after.map((a) => a.json).join(',')}]}`;
  }
  const old = new Map(before.map((b) => [b.key, b.json]));
  const set: string[] = [];
  for (const a of after) if (old.get(a.key) !== a.json) set.push(a.json);
  const kept = new Set(after.map((a) => a.key));
  const remove = before.filter((b) => !kept.has(b.key)).map((b) => b.key);
  const added = after.some((a) => !old.has(a.key));
  const reordered = !added && remove.length === 0 && before.some((b, i) => b.key !== after[i]?.key);
  if (set.length === 0 && remove.length === 0 && !reordered) return undefined;
  const fields: string[] = [];
  if (set.length > 0) fields.push(`"set":[${set.join(',')}]`);
  if (remove.length > 0) fields.push(`"remove":${JSON.stringify(remove)}`);
  if (added || remove.length > 0 || reordered) fields.push(`"order":${JSON.stringify(after.map((a) => a.key))}`);
  return `{${fields.join(',')}}`;
}

function invalid(message: string): WeftError {
  return new WeftError('PUSH_FRAME_INVALID', `config delta cannot be merged: ${message}`);
}

function keyOf(item: unknown, field: string): string {
  const key = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[field] : undefined;
  if (typeof key !== 'string') throw invalid(`an item has no string ${field}`);
  return key;
}

/** `base` with `change` applied, as a new array (`base` is left as it was). */
export function applyKeyedChange(base: readonly unknown[], change: KeyedChange, field: string): unknown[] {
  if (change.all !== undefined) return change.all;
  if (change.order === undefined && (change.remove ?? []).length === 0) return replaceInPlace(base, change.set ?? [], field);
  const items = new Map<string, unknown>();
  for (const item of base) items.set(keyOf(item, field), item);
  for (const key of change.remove ?? []) if (!items.delete(key)) throw invalid(`removes ${key}, which the base does not hold`);
  for (const item of change.set ?? []) items.set(keyOf(item, field), item);
  if (change.order === undefined) {
    if (items.size !== base.length) throw invalid(`adds or removes ${field}s without their order`);
    return base.map((item) => items.get(keyOf(item, field)));
  }
  if (new Set(change.order).size !== change.order.length || change.order.length !== items.size) {
    throw invalid(`order names ${change.order.length} ${field}s, the merged list holds ${items.size}`);
  }
  return change.order.map((key) => {
    if (!items.has(key)) throw invalid(`order names ${key}, which is neither in the base nor set`);
    return items.get(key);
  });
}

/**
 * The common delta, a few items changed in place: one pass over the base, without a map of all its keys. The
 * proxy's list is long (every service it can reach) and the change short; a proxy merges this on every push.
 */
function replaceInPlace(base: readonly unknown[], set: readonly unknown[], field: string): unknown[] {
  const bySetKey = new Map<string, unknown>();
  for (const item of set) bySetKey.set(keyOf(item, field), item);
  let found = 0;
  const merged = base.map((item) => {
    if (bySetKey.size === found) return item;
    const next = bySetKey.get(keyOf(item, field));
    if (next === undefined) return item;
    found++;
    return next;
  });
  // A set key not in the base adds an item: that needs the order.
  if (found !== bySetKey.size) throw invalid(`adds or removes ${field}s without their order`);
  return merged;
}

function listOf(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`the base has no ${what} list`);
  return value;
}

/**
 * The config that `delta` turns `base` into: a new object sharing what did not change with `base`, which is never
 * modified. The result is unchecked: the caller validates it against the ProxyConfig schema as it does a full config.
 */
export function applyConfigDelta(base: unknown, delta: ConfigDelta): Record<string, unknown> {
  if (typeof base !== 'object' || base === null) throw invalid('there is no base config');
  const b = base as Record<string, unknown>;
  if (b['version'] !== delta.base) throw invalid(`it is against ${delta.base}, the base is ${String(b['version'])}`);
  const next: Record<string, unknown> = { ...b, ...delta.sections, version: delta.version };
  const out = delta.outbound;
  if (out !== undefined) {
    const o = b['outbound'];
    if (typeof o !== 'object' || o === null) throw invalid('the base has no outbound section');
    const prev = o as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...prev };
    if (out.services !== undefined) merged['services'] = applyKeyedChange(listOf(prev['services'], 'services'), out.services, 'host');
    if (out.externals !== undefined) merged['externals'] = applyKeyedChange(listOf(prev['externals'], 'externals'), out.externals, 'source');
    if (out.trafficPolicy !== undefined) merged['trafficPolicy'] = out.trafficPolicy;
    for (const field of ['externalRoutes', 'egressGatewayHosts'] as const) {
      const value = out[field];
      if (value === null) delete merged[field];
      else if (value !== undefined) merged[field] = value;
    }
    next['outbound'] = merged;
  }
  return next;
}
