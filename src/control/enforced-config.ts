/**
 * "What did proxy X enforce at time T": the config that proxy had ACKed at T, compiled again from history. The
 * audit chain names the last ACK at or before T (version and SHA-256 of the bytes sent) and, in the entry of the
 * config sent, the store revision and the inputs that are not in the store; the store's history gives the
 * resources at that revision. The same compile and the same serialisation as the push give the bytes again,
 * and their SHA-256 either matches the recorded one or the answer says it does not.
 */
import { withoutPrivateKeys } from './secrets/redact-secret.js';
import type { Resource } from '../config/resource.js';
import { WeftError } from '../errors.js';
import type { ProxyConfig } from '../proxyconfig/types.js';
import { compileProxyConfigParts } from './compile/index.js';
import { buildSnapshot } from './compile/snapshot.js';
import { configBytesDigest, configDigest, configDigestV1 } from './config-digest.js';
import type { AuditEntry, PushEvent, SettingsEvent } from './store/audit-chain.js';
import { compileSettingsDigest } from './store/audit-chain.js';
import type { MeshSettings } from '../config/kinds/mesh-config.js';
import { MAX_AUDIT_PAGE } from './store/types.js';
import type { ResourceStore } from './store/types.js';

/** Where to stop reading the chain: entries made at or before a time, or before the revision after this one. */
export type EnforcedAt = { time: string } | { revision: number };

type PushEntry = AuditEntry & PushEvent;
type SettingsEntry = AuditEntry & SettingsEvent;

export interface EnforcedConfig {
  proxy: string;
  /** The ACK the answer is about. */
  ack: { seq: number; time: string; configVersion: string; configSha256: string };
  /** The entry of the config sent, which records its compile inputs. */
  sent: { seq: number; time: string; revision: number };
  reproducedSha256: string;
  reproduced: boolean;
  config: ProxyConfig;
}

function isPush(e: AuditEntry): e is PushEntry {
  return e.type === 'push';
}

/** Whether `e` was made after the moment asked about. */
function after(e: AuditEntry, at: EnforcedAt): boolean {
  return 'time' in at ? e.time > at.time : e.type === 'change' && e.revision > at.revision;
}

interface LastAck {
  ack: PushEntry;
  sent: PushEntry | undefined;
  /** Settings entries the walk read, by their digest (the one a sent entry names comes before it); one whose content does not hash to its digest is left out. */
  settings: ReadonlyMap<string, SettingsEntry>;
}

/** The last ACK by `proxy` at `at`, the sent entry of that version and hash before it, and the settings entries before it. */
async function lastAck(store: ResourceStore, proxy: string, at: EnforcedAt): Promise<LastAck | undefined> {
  const sent = new Map<string, PushEntry>();
  const settings = new Map<string, SettingsEntry>();
  let found: LastAck | undefined;
  let afterSeq = 0;
  for (;;) {
    const page = await store.auditLog({ afterSeq, limit: MAX_AUDIT_PAGE });
    for (const e of page) {
      if (after(e, at)) return found;
      if (e.type === 'settings' && compileSettingsDigest(e.bootstrap, e.jwks) === e.sha256) settings.set(e.sha256, e);
      if (!isPush(e) || e.proxy !== proxy || e.configSha256 === null) continue;
      const key = `${e.configVersion} ${e.configSha256}`;
      if (e.outcome === 'sent') sent.set(key, e);
      else if (e.outcome === 'ack') found = { ack: e, sent: sent.get(key), settings };
    }
    const last = page.at(-1)?.seq;
    if (page.length < MAX_AUDIT_PAGE || last === undefined || last <= afterSeq) return found;
    afterSeq = last;
  }
}

/** `unseal` opens stored Secrets, so a gateway's config compiles to what it was sent; the answer never shows their keys. */
export async function enforcedConfig(
  store: ResourceStore,
  proxy: string,
  at: EnforcedAt,
  unseal: <R extends Resource>(resources: readonly R[]) => R[] = (r) => [...r],
): Promise<EnforcedConfig> {
  const asked = 'time' in at ? at.time : `revision ${at.revision}`;
  const found = await lastAck(store, proxy, at);
  if (!found) {
    throw new WeftError('NOT_FOUND', `the audit chain has no ACK by ${proxy} at or before ${asked}`, { status: 404, detail: { proxy } });
  }
  const { ack, sent } = found;
  const inputs = sent?.inputs;
  // Inline in entries made before settings entries existed; named by digest since.
  const shared: { bootstrap: MeshSettings; jwks: Record<string, string> } | undefined =
    inputs?.settings !== undefined ? found.settings.get(inputs.settings) : inputs?.bootstrap !== undefined ? { bootstrap: inputs.bootstrap, jwks: inputs.jwks ?? {} } : undefined;
  if (!sent || !inputs || !shared) {
    const what = inputs?.settings === undefined ? 'what' : `the settings ${inputs.settings.slice(0, 16)}… that`;
    throw new WeftError('INPUTS_UNRECORDED', `the audit chain does not record ${what} config ${ack.configVersion} (ACKed in entry ${ack.seq}) was compiled from`, {
      status: 409,
      detail: { proxy, seq: ack.seq },
    });
  }
  // HISTORY_PRUNED when retention removed the revision.
  const resources = unseal(await store.listAt({}, inputs.revision));
  const network = inputs.serviceCidr === undefined ? {} : { serviceCidr: inputs.serviceCidr };
  const snap = buildSnapshot(resources, inputs.revision, shared.bootstrap, new Map(Object.entries(shared.jwks)), network);
  const compiled = compileProxyConfigParts(snap, inputs.node);
  // Older records hold the digest by parts with every section hashed by its bytes, or before that the digest of the
  // bytes: any of the three reproduces.
  const byParts = configDigest(compiled.jsonParts);
  const older = [configDigestV1, configBytesDigest];
  const reproducedSha256 = ack.configSha256 === byParts || !older.some((d) => d(compiled.jsonParts) === ack.configSha256) ? byParts : (ack.configSha256 as string);
  return {
    proxy,
    ack: { seq: ack.seq, time: ack.time, configVersion: ack.configVersion, configSha256: ack.configSha256 as string },
    sent: { seq: sent.seq, time: sent.time, revision: inputs.revision },
    reproducedSha256,
    reproduced: reproducedSha256 === ack.configSha256,
    config: withoutPrivateKeys(compiled.config),
  };
}
