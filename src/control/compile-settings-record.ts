/**
 * The `settings` entries of the audit chain (audit-chain.ts SettingsEvent): the compile inputs every config of a
 * snapshot shares and the store does not hold, recorded once per control plane and distinct value, and named by
 * digest in each sent push entry. A push to 2,000 proxies wrote the mesh settings 2,000 times before, inline: about
 * half of each sent entry, and through etcd's raft on every member.
 */
import type { MeshSettings } from '../config/kinds/mesh-config.js';
import type { SentInputs } from './push-connection.js';
import type { AuditEntry, PushInputs, SettingsEvent } from './store/audit-chain.js';
import { compileSettingsDigest } from './store/audit-chain.js';

const MAX_REMEMBERED = 64;

export class CompileSettingsRecord {
  /** The digest of each JWKS object asked about: push-server.ts hands every proxy of a snapshot the same object. */
  readonly #byJwks = new WeakMap<Record<string, string>, string>();
  /** Digests this control plane has appended (or is appending) a settings entry for; forgotten past a bound. */
  readonly #recorded = new Set<string>();

  constructor(
    private readonly bootstrap: MeshSettings,
    /** Appends in call order, so the settings entry comes before the sent entries that name it. */
    private readonly append: (event: SettingsEvent) => Promise<AuditEntry>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The digest sent entries name `jwks` and the bootstrap settings by; the first time, their settings entry is appended. */
  reference(jwks: Record<string, string>): string {
    let digest = this.#byJwks.get(jwks);
    if (digest === undefined) {
      digest = compileSettingsDigest(this.bootstrap, jwks);
      this.#byJwks.set(jwks, digest);
    }
    if (!this.#recorded.has(digest)) {
      // JWKS documents rotate: a control plane that runs for months must not keep every digest. Forgetting one only
      // means its settings entry is appended again if it comes back.
      if (this.#recorded.size >= MAX_REMEMBERED) this.#recorded.clear();
      this.#recorded.add(digest);
      const recorded = digest;
      this.append({ type: 'settings', sha256: digest, bootstrap: this.bootstrap, jwks }).catch((err: unknown) => {
        // Tried again with the next config sent.
        this.#recorded.delete(recorded);
        this.onError(err);
      });
    }
    return digest;
  }

  /** The inputs a sent push entry records: the proxy's own, and the shared ones by the digest of their settings entry. */
  inputsOf(sent: SentInputs): PushInputs {
    const { jwks, ...own } = sent;
    return { ...own, settings: this.reference(jwks) };
  }
}
