/**
 * The audit chain, the same for every store backend and for an exported file. Entry n carries `prev`, the hash
 * of entry n-1 (64 zeros for the first), and its own `hash`: SHA-256 (hex) of the entry without `hash` in the
 * canonical form of resource-content.ts, which is RFC 8785 (JCS) for the values entries hold: no whitespace,
 * object keys sorted by UTF-16 code units, strings and numbers as ECMAScript's JSON.stringify writes them.
 * Editing, removing or moving an entry therefore breaks the link to the next one; rewriting the whole tail
 * consistently is caught by the signed heads (audit-head.ts), which a writer without the key cannot remake.
 */
import { createHash } from 'node:crypto';
import type { ResourceKey } from '../../config/resource.js';
import type { MeshSettings } from '../../config/kinds/mesh-config.js';
import type { JsonPatchOp } from './json-diff.js';
import { canonicalJson } from './resource-content.js';
import type { AuditActor, AuditVerb } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditEntryType = 'change' | 'refusal' | 'push' | 'settings' | 'head';
export const AUDIT_ENTRY_TYPES: readonly AuditEntryType[] = ['change', 'refusal', 'push', 'settings', 'head'];

/** A change to a resource; the store writes it in the change's own transaction. */
export interface ChangeEvent {
  type: 'change';
  actor: AuditActor;
  verb: AuditVerb;
  key: ResourceKey;
  revision: number;
  /** SHA-256 of the canonical body before and after; null where there is none (create, delete). */
  oldSha256: string | null;
  newSha256: string | null;
  /** RFC 6902 from the old body to the new one; a create adds the whole body at "", a delete is empty. */
  diff: JsonPatchOp[];
}

/** The permission a forbidden call lacked, as the role check named it. */
export interface MissingPermission {
  verb: string;
  kind: string;
  namespace: string;
}

/** A call the API refused (unauthenticated, forbidden, invalid). */
export interface RefusalEvent {
  type: 'refusal';
  /** Null when no credential was accepted. */
  actor: AuditActor | null;
  method: string;
  path: string;
  code: string;
  status: number;
  reason: string;
  /** The caller's address. */
  source?: string;
  /** For a forbidden call: the API verb asked for and what about (namespace `*` for a cluster-wide request). */
  verb?: string;
  key?: ResourceKey;
  missing?: MissingPermission;
  /**
   * Unauthenticated calls from one source are recorded once per interval (unauthenticated-tally.ts): the first at
   * once, the rest as one entry that counts them, made between `firstTime` and `lastTime`.
   */
  count?: number;
  firstTime?: string;
  lastTime?: string;
}

/** A config sent to a proxy, or the proxy's ACK or NACK of it. */
export interface PushEvent {
  type: 'push';
  /** `role/namespace/name`, as `weft status` names proxies. */
  proxy: string;
  outcome: 'sent' | 'ack' | 'nack';
  configVersion: string;
  /** SHA-256 of the config bytes sent; null if the proxy acknowledged a version this control plane never sent. */
  configSha256: string | null;
  reason?: string;
  /** Sent configs: what the config was compiled from besides the store's resources at `inputs.revision`. */
  inputs?: PushInputs;
}

/**
 * The compile inputs of a sent config (push-server.ts fills them; enforced-config.ts compiles from them again).
 * The settings every proxy's config shares (the bootstrap mesh settings, the JWKS documents) are recorded once, in a
 * `settings` entry, and named here by its digest: recorded in every sent entry, they were most of its bytes, and a
 * push to thousands of proxies wrote them thousands of times. Entries made before that hold them here, inline.
 */
export interface PushInputs {
  revision: number;
  node: { role: 'sidecar' | 'gateway'; namespace: string; name: string; serviceAccount: string; labels?: Record<string, string> };
  serviceCidr?: string;
  /** `sha256` of the `settings` entry earlier in the chain that holds the bootstrap settings and JWKS documents. */
  settings?: string;
  /** Inline, in entries made before `settings`. */
  jwks?: Record<string, string>;
  /** Inline, in entries made before `settings`: the mesh settings the control plane was started with. */
  bootstrap?: MeshSettings;
}

/**
 * Compile inputs shared by the configs of many proxies, that are not in the store: the mesh settings the control
 * plane was started with (flags) and the JWKS documents it had fetched. Recorded by each control plane the first
 * time it sends a config compiled with them; sent entries name it by `sha256` (compileSettingsDigest).
 */
export interface SettingsEvent {
  type: 'settings';
  sha256: string;
  bootstrap: MeshSettings;
  jwks: Record<string, string>;
}

/** SHA-256 (hex) of the canonical form of `{bootstrap, jwks}`: the name a settings entry goes by. */
export function compileSettingsDigest(bootstrap: MeshSettings, jwks: Record<string, string>): string {
  return createHash('sha256').update(canonicalJson({ bootstrap, jwks }), 'utf8').digest('hex');
}

/** What a head signature covers: the chain up to `seq`, whose entry hash is `hash`. */
export interface HeadClaim {
  seq: number;
  hash: string;
  signedAt: string;
  /** First 16 hex digits of the SHA-256 of the signing key's SubjectPublicKeyInfo. */
  keyId: string;
}

export interface SignedHead extends HeadClaim {
  /** base64url signature over `headPayload(claim)`. */
  signature: string;
}

export interface HeadEvent {
  type: 'head';
  signed: SignedHead;
}

/** What callers other than the store append. */
export type AuditEvent = RefusalEvent | PushEvent | SettingsEvent | HeadEvent;
export type AuditContent = ChangeEvent | AuditEvent;

export type UnsealedEntry = AuditContent & { seq: number; time: string; prev: string };
export type AuditEntry = UnsealedEntry & { hash: string };

export interface AuditLogFilter {
  /** Only entries after this sequence number. */
  afterSeq?: number;
  /** Only entries at or after this time (ISO-8601). */
  sinceTime?: string;
  /** Only entries after the change that made this revision. */
  sinceRevision?: number;
  type?: AuditEntryType;
  /** Only change entries of this resource kind. */
  resourceKind?: string;
  /** At most this many (oldest first); backends cap it at MAX_AUDIT_PAGE. */
  limit?: number;
}

export function entryHash(entry: UnsealedEntry): string {
  const { hash: _ignored, ...content } = entry as AuditEntry;
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}

export function sealEntry(content: AuditContent, seq: number, time: string, prev: string): AuditEntry {
  const unsealed = { ...content, seq, time, prev } as UnsealedEntry;
  return { ...unsealed, hash: entryHash(unsealed) } as AuditEntry;
}

/** The bytes a head signature covers. */
export function headPayload(claim: HeadClaim): Buffer {
  const { seq, hash, signedAt, keyId } = claim;
  return Buffer.from(`weft-audit-head\n${canonicalJson({ hash, keyId, seq, signedAt })}`, 'utf8');
}

export type ChainProblemKind = 'edited' | 'removed' | 'reordered' | 'truncated' | 'bad-signature';

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The first entry found wrong (its sequence number as the chain expects it). */
  seq: number;
  /** Its position in what was read, from 1 (a line number for a JSON-lines file). */
  position: number;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  entries: number;
  lastSeq: number;
  lastHash: string;
  /** The newest signed head the chain was checked against. */
  signedHead: SignedHead | null;
  problem: ChainProblem | null;
}

export interface VerifyOptions {
  /** Heads kept outside the chain (the state directory's head file, a SIEM's copy). */
  externalHeads?: SignedHead[];
  /** True if the head's signature is good under a key the verifier trusts. */
  checkSignature: (head: SignedHead) => boolean;
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Checks `entries` (read in stored order) from the first entry on; reports the first thing wrong. */
export function verifyChain(entries: readonly AuditEntry[], options: VerifyOptions): ChainReport {
  const hashes = new Map<number, string>();
  let prevHash = GENESIS_HASH;
  let expected = 1;
  let newestHead: SignedHead | null = null;
  const report = (problem: ChainProblem | null): ChainReport => ({
    ok: problem === null,
    entries: entries.length,
    lastSeq: expected - 1,
    lastHash: prevHash,
    signedHead: newestHead,
    problem,
  });
  for (const [i, e] of entries.entries()) {
    const position = i + 1;
    if (!isSeq(e.seq)) return report({ kind: 'edited', seq: expected, position, message: `entry ${expected} has no valid seq` });
    if (e.seq !== expected) {
      const later = entries.slice(i + 1).some((x) => x.seq === expected);
      if (later || e.seq < expected) {
        return report({
          kind: 'reordered',
          seq: expected,
          position,
          message: `entry ${expected} is out of place: entry ${e.seq} stands where it should be`,
        });
      }
      const gap = e.seq - 1 === expected ? `entry ${expected} was removed` : `entries ${expected} to ${e.seq - 1} were removed`;
      return report({ kind: 'removed', seq: expected, position, message: `${gap} (next present: ${e.seq})` });
    }
    if (entryHash(e) !== e.hash) {
      return report({ kind: 'edited', seq: e.seq, position, message: `entry ${e.seq} was edited: its content does not match its hash` });
    }
    if (e.prev !== prevHash) {
      // This entry is intact, so the one before it was rewritten together with its own hash.
      return report({
        kind: 'edited',
        seq: e.seq - 1,
        position: position - 1,
        message: `entry ${e.seq - 1} was edited: its hash is not the one entry ${e.seq} sealed`,
      });
    }
    if (e.type === 'head') {
      const problem = checkHead(e.signed, hashes, options, position, e.seq);
      if (problem !== null) return report(problem);
      newestHead = e.signed;
    }
    hashes.set(e.seq, e.hash);
    prevHash = e.hash;
    expected++;
  }
  for (const head of options.externalHeads ?? []) {
    if (head.seq >= expected) {
      if (!options.checkSignature(head)) return report(badSignature(head, entries.length + 1));
      return report({
        kind: 'truncated',
        seq: expected,
        position: entries.length + 1,
        message: `the chain ends at entry ${expected - 1} but a head signed at ${head.signedAt} covers entries up to ${head.seq}: entries from ${expected} on were removed`,
      });
    }
    const problem = checkHead(head, hashes, options, entries.length + 1, head.seq + 1);
    if (problem !== null) return report(problem);
    if (newestHead === null || head.seq > newestHead.seq) newestHead = head;
  }
  return report(null);
}

function badSignature(head: SignedHead, position: number): ChainProblem {
  return {
    kind: 'bad-signature',
    seq: head.seq,
    position,
    message: `the head claiming entry ${head.seq} (signed ${head.signedAt}, key ${head.keyId}) does not carry a valid signature`,
  };
}

/** A head must be signed by a trusted key and match the hash the chain has at its seq. */
function checkHead(
  head: SignedHead,
  hashes: ReadonlyMap<number, string>,
  options: VerifyOptions,
  position: number,
  atSeq: number,
): ChainProblem | null {
  if (!options.checkSignature(head)) return badSignature(head, position);
  const have = hashes.get(head.seq);
  if (head.seq === 0 && head.hash === GENESIS_HASH) return null;
  if (have === head.hash) return null;
  return {
    kind: 'edited',
    seq: head.seq,
    position,
    message: `entries up to ${head.seq} were rewritten after the head signed at ${head.signedAt} (found at entry ${atSeq}): the chain's hash at ${head.seq} is ${have ?? 'missing'}, the signed one ${head.hash}`,
  };
}
