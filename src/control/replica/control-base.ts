/**
 * What a control plane stands on before it serves: its store, its CA, the audit key, the credential HMAC key and the
 * key Secrets are sealed under, and whether it leads. On SQLite (one process) these come from the state directory as
 * they always did. On etcd, several replicas share them: the CA pair, the audit, credential and Secret keys are
 * sealed in the store
 * (envelope.ts) by the first replica to start (importing the operator's CA files if it was given them) and opened by
 * the others; one replica at a time holds the leader lease and runs the singleton work.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { WeftError } from '../../errors.js';
import { CertificateAuthority } from '../../identity/ca.js';
import { createRootCa } from '../../identity/root-ca.js';
import { AUDIT_PUBLIC_KEY_FILE, auditSignerFromPem, loadOrCreateAuditKey, newAuditKeyPem } from '../../identity/audit-key.js';
import type { AuditSigner } from '../../identity/audit-key.js';
import type { StateDirLayout } from '../../mesh/state-dir.js';
import { CREDENTIAL_KEY_BYTES, newCredentialKey } from '../api/credentials.js';
import type { ControlLog } from '../control-log.js';
import type { SealedSecrets } from '../store/etcd-replication.js';
import type { SharedJwksRecords } from '../store/etcd-jwks.js';
import type { EtcdClientTls } from '../store/etcd-tls.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { ControlStore } from '../store/types.js';
import { readSealingKey } from './envelope.js';
import { SECRET_KEY_BYTES, loadOrCreateSecretKey } from '../secrets/secret-sealing.js';
import type { SealingKey } from './envelope.js';
import path from 'node:path';

export type StoreChoice =
  | { kind: 'sqlite' }
  | {
      kind: 'etcd';
      endpoints: string[];
      /** One prefix per mesh; replicas of one mesh share it. */
      prefix: string;
      /** The 32-byte key the shared secrets are sealed under, given to every replica out of band. */
      sealingKeyFile: string;
      /** CA, client certificate and key for https:// members. */
      tls?: EtcdClientTls;
      /** How long a leader that stopped answering keeps the lease (seconds). */
      leaseTtlSeconds?: number;
    };

export interface ControlBase {
  store: ControlStore;
  ca: CertificateAuthority;
  auditKey: AuditSigner;
  credentialKey: Buffer;
  /** The key stored Secrets are sealed under (secret-sealing.ts): every replica must open every Secret. */
  secretKey: Buffer;
  /** True while this replica runs singleton work (always, on SQLite). */
  leading(): boolean;
  /** Told when this replica takes or loses the leader lease (never, on SQLite: it always leads). */
  onLeadershipChange(listener: (leading: boolean) => void): void;
  /** Where replicas share JWKS documents, on etcd; undefined on SQLite, where the one process fetches them itself. */
  sharedJwks: SharedJwksRecords | undefined;
  close(): Promise<void>;
}

export interface ControlBaseOptions {
  layout: StateDirLayout;
  store: StoreChoice;
  trustDomain: string;
  caFiles?: { certFile: string; keyFile: string; chainFile?: string } | undefined;
  /** Names this replica in the leader election and in logs. */
  replicaId: string;
  log: ControlLog;
}

export async function openControlBase(o: ControlBaseOptions): Promise<ControlBase> {
  const { layout, log } = o;
  const onListenerError = (err: unknown): void => log.warn('watch listener failed', { error: String(err) });
  if (o.store.kind === 'sqlite') {
    const ca = o.caFiles ? await CertificateAuthority.fromFiles(o.caFiles) : await CertificateAuthority.loadOrCreate(layout.caDir, { trustDomain: o.trustDomain });
    const store = openSqliteStore(layout.storeFile, { onListenerError });
    return { store, ca, auditKey: loadOrCreateAuditKey(layout.caDir), credentialKey: credentialKeyFile(layout.credentialKeyFile), secretKey: loadOrCreateSecretKey(layout.secretKeyFile), leading: () => true, onLeadershipChange: () => undefined, sharedJwks: undefined, close: () => store.close() };
  }
  const sealing = readSealingKey(o.store.sealingKeyFile);
  // Loaded only here: the etcd client and its gRPC stack add 17 MiB to a bare Node process; SQLite never needs them.
  const { openEtcdStore } = await import('../store/etcd-connect.js');
  const store = await openEtcdStore({ endpoints: o.store.endpoints, prefix: o.store.prefix, onListenerError, ...(o.store.tls === undefined ? {} : { tls: o.store.tls }) });
  try {
    const ca = await sharedCa(store.sealed, sealing, o);
    const audit = auditSignerFromPem(await sharedSecret(store.sealed, sealing, 'audit-key', () => Buffer.from(newAuditKeyPem())).then(String), 'sealed in the store');
    fs.mkdirSync(layout.caDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(layout.caDir, AUDIT_PUBLIC_KEY_FILE), audit.publicKeyPem, { mode: 0o644 });
    const credentialKey = await sharedSecret(store.sealed, sealing, 'credential-key', newCredentialKey);
    if (credentialKey.length !== CREDENTIAL_KEY_BYTES) throw new WeftError('STORE', 'the sealed credential key has the wrong size');
    const secretKey = await sharedSecret(store.sealed, sealing, 'secret-key', () => randomBytes(SECRET_KEY_BYTES));
    if (secretKey.length !== SECRET_KEY_BYTES) throw new WeftError('STORE', 'the sealed Secret key has the wrong size');
    const listeners = new Set<(leading: boolean) => void>();
    const tell = (leading: boolean): void => {
      for (const l of listeners) l(leading);
    };
    const leadership = store.campaign(o.replicaId, o.store.leaseTtlSeconds ?? 5, {
      onElected: () => {
        log.info('leading: this replica runs audit head signing, history retention and JWKS fetching', { replica: o.replicaId });
        tell(true);
      },
      onDeposed: (why) => {
        log.warn('no longer leading', { replica: o.replicaId, reason: why });
        tell(false);
      },
    });
    return {
      store,
      ca,
      auditKey: audit,
      credentialKey,
      secretKey,
      leading: () => leadership.leading,
      onLeadershipChange: (listener) => void listeners.add(listener),
      sharedJwks: store.jwks,
      async close() {
        await leadership.resign();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Opens the sealed secret `name`, sealing `make()` first if no replica has yet. */
async function sharedSecret(sealed: SealedSecrets, key: SealingKey, name: string, make: () => Buffer): Promise<Buffer> {
  const existing = await sealed.get(name);
  if (existing !== undefined) return key.open(name, existing);
  return key.open(name, await sealed.createIfAbsent(name, key.seal(name, make())));
}

interface CaPems {
  certPem: string;
  keyPem: string;
  chainPem: string;
}

async function sharedCa(sealed: SealedSecrets, key: SealingKey, o: ControlBaseOptions): Promise<CertificateAuthority> {
  let given: CaPems | undefined;
  if (o.caFiles) {
    const read = (file: string | undefined): string => (file === undefined ? '' : fs.readFileSync(file, 'utf8'));
    given = { certPem: read(o.caFiles.certFile), keyPem: read(o.caFiles.keyFile), chainPem: read(o.caFiles.chainFile) };
    await CertificateAuthority.fromPem(given); // refuse a bad pair before sealing it for every replica
  }
  const make = async (): Promise<CaPems> => given ?? { ...(await createRootCa({ now: Date.now(), trustDomain: o.trustDomain })), chainPem: '' };
  const existing = await sealed.get('ca');
  const pems = JSON.parse(
    (existing !== undefined ? key.open('ca', existing) : key.open('ca', await sealed.createIfAbsent('ca', key.seal('ca', Buffer.from(JSON.stringify(await make())))))).toString('utf8'),
  ) as CaPems;
  if (given !== undefined && given.certPem.trim() !== pems.certPem.trim()) {
    throw new WeftError('CA_INVALID', 'the replicas of this mesh sign with another CA than --ca-cert: every replica must sign with one CA');
  }
  return CertificateAuthority.fromPem(pems);
}

/** The credential HMAC key, made on first start; a key of the wrong size is replaced (every credential then fails). */
function credentialKeyFile(file: string): Buffer {
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file);
    if (key.length === CREDENTIAL_KEY_BYTES) return key;
  }
  const key = newCredentialKey();
  fs.writeFileSync(file, key, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return key;
}

/** A replica id unique enough for the leader election and logs. */
export function newReplicaId(listen: string): string {
  return `${listen}/${randomBytes(4).toString('hex')}`;
}
