/**
 * The difference between two JSON documents as RFC 6902 JSON Patch operations (paths are RFC 6901 pointers).
 * Objects are compared key by key, arrays of one length element by element; an array whose length changed is
 * replaced whole, because a patch of inserts and shifts says less to a reader than the two lists do. Applying
 * the patch to `before` gives `after`.
 */
import { canonicalJson } from './resource-content.js';

export type JsonPatchOp = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function jsonDiff(before: unknown, after: unknown, path = ''): JsonPatchOp[] {
  if (isObject(before) && isObject(after)) {
    const ops: JsonPatchOp[] = [];
    for (const key of Object.keys(before).sort()) {
      if (!(key in after) || after[key] === undefined) ops.push({ op: 'remove', path: `${path}/${pointerToken(key)}` });
    }
    for (const key of Object.keys(after).sort()) {
      const next = after[key];
      if (next === undefined) continue;
      const at = `${path}/${pointerToken(key)}`;
      if (!(key in before) || before[key] === undefined) ops.push({ op: 'add', path: at, value: next });
      else ops.push(...jsonDiff(before[key], next, at));
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item: unknown, i) => jsonDiff(item, after[i], `${path}/${i}`));
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : [{ op: 'replace', path, value: after }];
}
