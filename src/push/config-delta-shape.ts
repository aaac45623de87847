/**
 * The common case of reading a `config-delta` line, checked without zod: a proxy reads one on every push, and zod
 * copies every object of the message as it checks it (a quarter of a proxy's time on a push, most of it for a
 * delta of a few services). This check accepts only messages the zod schema in config-delta.ts accepts, and hands
 * back the message itself; anything it does not accept goes to zod, which accepts it or names what is wrong.
 */
import type { ConfigDelta } from './config-delta.js';

const ROOT_KEYS: ReadonlySet<string> = new Set(['type', 'base', 'version', 'sections', 'outbound']);
const OUTBOUND_KEYS: ReadonlySet<string> = new Set(['trafficPolicy', 'externalRoutes', 'egressGatewayHosts', 'services', 'externals']);
const KEYED_KEYS: ReadonlySet<string> = new Set(['all', 'set', 'remove', 'order']);

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Plain, allowed: ReadonlySet<string>): boolean {
  for (const k of Object.keys(value)) if (!allowed.has(k)) return false;
  return true;
}

const nonEmptyString = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const stringList = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
const list = (v: unknown): boolean => v === undefined || Array.isArray(v);

function isKeyedChange(v: unknown): boolean {
  if (v === undefined) return true;
  return isPlain(v) && onlyKeys(v, KEYED_KEYS) && list(v['all']) && list(v['set']) && stringList(v['remove']) && stringList(v['order']);
}

/** True when `msg` is a well-formed delta; false says only that zod must look at it. */
export function isConfigDeltaShape(msg: unknown, sectionKeys: ReadonlySet<string>): msg is ConfigDelta {
  if (!isPlain(msg) || !onlyKeys(msg, ROOT_KEYS)) return false;
  if (msg['type'] !== 'config-delta' || !nonEmptyString(msg['base']) || !nonEmptyString(msg['version'])) return false;
  const sections = msg['sections'];
  if (sections !== undefined && !(isPlain(sections) && onlyKeys(sections, sectionKeys))) return false;
  const outbound = msg['outbound'];
  if (outbound === undefined) return true;
  return isPlain(outbound) && onlyKeys(outbound, OUTBOUND_KEYS) && isKeyedChange(outbound['services']) && isKeyedChange(outbound['externals']);
}
