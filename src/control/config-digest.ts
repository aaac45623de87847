/** The digests the audit chain records of a config sent to a proxy. */
import { createHash } from 'node:crypto';
import type { ConfigJsonPart } from './compile/index.js';
import type { SharedSection } from './compile/snapshot-memo.js';

/**
 * The audit chain's digest of a config: SHA-256 over its parts in order, each framed by kind and length, a shared
 * section by its own hash (SharedSection.hash: of its bytes, or of its parts' hashes). It binds the config's exact
 * bytes as SHA-256 of the bytes would, but costs the proxy's own part per proxy: hashing every proxy's whole config
 * on every change was most of a push to thousands.
 */
export function configDigest(parts: readonly ConfigJsonPart[]): string {
  return partsDigest('weft-config-parts-v2\n', parts, (s) => s.hash);
}

/** The digest records held while every shared section was named by the SHA-256 of its bytes. */
export function configDigestV1(parts: readonly ConfigJsonPart[]): string {
  return partsDigest('weft-config-parts-v1\n', parts, (s) => s.bytesSha256);
}

function partsDigest(label: string, parts: readonly ConfigJsonPart[], hashOf: (s: SharedSection<unknown>) => string): string {
  const h = createHash('sha256').update(label);
  for (const p of parts) {
    if (typeof p === 'string') h.update(`s${Buffer.byteLength(p)}:`).update(p);
    else h.update(`h:${hashOf(p)}`);
  }
  return h.digest('hex');
}

/** SHA-256 of the config's JSON exactly as written after `"config":`: the digest audit records held before either. */
export function configBytesDigest(parts: readonly ConfigJsonPart[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : p.bytes);
  return h.digest('hex');
}
