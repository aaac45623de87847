/**
 * A merged delta checked against the ProxyConfig schema at the cost of what the delta changed. The schema's root and
 * its outbound section are strict objects without refinements, and its service and external lists plain arrays, so
 * a whole parse is exactly: no unknown key, and every field (every list item) valid on its own. A field or item
 * that is the very object of the config last accepted (the zod output of its check, never modified since) is valid
 * already; only the others are parsed. The outcome is the one a whole parse gives (section-validation.test.ts
 * checks it on generated deltas), and so is the result, built from the same parsed pieces in the schema's order.
 */
import type { z } from 'zod';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';

type Plain = Record<string, unknown>;
type Shape = Readonly<Record<string, z.ZodType>>;

const ROOT: Shape = ProxyConfigSchema.shape;
const OUTBOUND: Shape = ProxyConfigSchema.shape.outbound.shape;
/** The outbound lists checked item by item, with the schema of one item. */
const OUTBOUND_LISTS: Readonly<Record<string, z.ZodType>> = {
  services: ProxyConfigSchema.shape.outbound.shape.services.element,
  externals: ProxyConfigSchema.shape.outbound.shape.externals.element,
};

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value the schema has passed before is taken as it is; any other is parsed. Undefined: it is not valid. */
function checked(value: unknown, previous: unknown, schema: z.ZodType): { value: unknown } | undefined {
  if (value === previous && typeof value === 'object' && value !== null) return { value };
  const parsed = schema.safeParse(value);
  return parsed.success ? { value: parsed.data } : undefined;
}

function checkedList(value: unknown, previous: readonly unknown[], item: z.ZodType): { value: unknown } | undefined {
  if (value === previous) return { value };
  if (!Array.isArray(value)) return undefined;
  const known = new Set(previous);
  const out: unknown[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const one = checked(value[i], known.has(value[i]) ? value[i] : undefined, item);
    if (one === undefined) return undefined;
    out[i] = one.value;
  }
  return { value: out };
}

/** `value` checked as a strict object of `shape`, fields by `field`; undefined when it is not valid. */
function checkedObject(value: unknown, shape: Shape, field: (key: string, v: unknown) => { value: unknown } | undefined): Plain | undefined {
  if (!isPlain(value)) return undefined;
  for (const key of Object.keys(value)) if (!Object.hasOwn(shape, key)) return undefined;
  const out: Plain = {};
  for (const key of Object.keys(shape)) {
    const one = field(key, value[key]);
    if (one === undefined) return undefined;
    // As zod does: a field absent stays absent, a field present (even undefined) is kept.
    if (Object.hasOwn(value, key)) out[key] = one.value;
  }
  return out;
}

function checkedOutbound(value: unknown, previous: ProxyConfig['outbound']): { value: unknown } | undefined {
  if (value === previous) return { value };
  const prev = previous as unknown as Plain;
  const out = checkedObject(value, OUTBOUND, (key, v) => {
    const item = OUTBOUND_LISTS[key];
    return item !== undefined ? checkedList(v, prev[key] as unknown[], item) : checked(v, prev[key], OUTBOUND[key]!);
  });
  return out === undefined ? undefined : { value: out };
}

/**
 * `merged` as ProxyConfigSchema parses it, when it is valid; undefined when it is not (the caller parses it whole
 * for the reason). `previous` is a config the schema accepted: a zod output, never modified.
 */
export function parseAgainstPrevious(merged: unknown, previous: ProxyConfig): ProxyConfig | undefined {
  const prev = previous as unknown as Plain;
  const out = checkedObject(merged, ROOT, (key, v) => (key === 'outbound' ? checkedOutbound(v, previous.outbound) : checked(v, prev[key], ROOT[key]!)));
  return out as ProxyConfig | undefined;
}
