import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createCsr, generateWorkloadKey } from '../../identity/workload-key.js';
import type { Clock } from '../../clock.js';

const MAX_RETRY_MS = 30_000;
/** The shortest wait between renewal attempts, however close the certificate is to expiry. */
const MIN_RETRY_MS = 250;

/** What the control plane's CA answers to a CSR. */
export interface SignedSvid {
  /** Leaf first, then intermediates. */
  certChainPem: string[];
  /** The roots this proxy trusts for peers. */
  trustBundlePem: string[];
}

export type CsrSigner = (csrPem: string) => Promise<SignedSvid>;

export interface SvidState {
  spiffeId: string;
  keyPem: string;
  certChainPem: string[];
  trustBundlePem: string[];
  notBefore: number;
  notAfter: number;
  /** When this proxy received it: renewal is timed from here, as notBefore is backdated for clock skew. */
  issuedAt: number;
  serverContext: tls.SecureContext;
  clientContext: tls.SecureContext;
}

/**
 * The proxy's own X.509-SVID. The private key is made here and never leaves the process; renewal makes a fresh key
 * at half the certificate's life. Listeners and pools read `current` at handshake time, so a rotation takes effect
 * for new connections while existing ones finish undisturbed: no request is dropped.
 */
export class WorkloadCertificate {
  #state: SvidState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #listeners: Array<(s: SvidState) => void> = [];
  #stopped = false;

  constructor(
    readonly spiffeId: string,
    private readonly clock: Clock,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
    /** Called once the certificate has expired without a renewal (the control plane was away too long). */
    private readonly onExpired?: () => void,
  ) {}

  get current(): SvidState {
    if (!this.#state) throw new TypeError('workload certificate used before it was issued');
    return this.#state;
  }

  get ready(): boolean {
    return this.#state !== undefined;
  }

  onRotate(listener: (s: SvidState) => void): void {
    this.#listeners.push(listener);
  }

  /** Obtain a certificate through `sign` (bootstrap token or renewal over mTLS) and install it. */
  async issue(sign: CsrSigner): Promise<SvidState> {
    const key = await generateWorkloadKey();
    const csr = await createCsr(key, this.spiffeId);
    const signed = await sign(csr);
    const state = buildState(this.spiffeId, key.privateKeyPem, signed, this.clock.now());
    this.#state = state;
    for (const l of this.#listeners) l(state);
    this.log('certificate issued', { spiffeId: this.spiffeId, notAfter: new Date(state.notAfter).toISOString() });
    return state;
  }

  /** Renew at half-life, retrying with backoff (never past the old certificate's expiry) until it is renewed. */
  scheduleRenewal(sign: CsrSigner): void {
    if (this.#stopped || !this.#state) return;
    const { issuedAt, notAfter } = this.#state;
    const at = issuedAt + (notAfter - issuedAt) / 2;
    this.#arm(Math.max(0, at - this.clock.now()), sign, 1000);
  }

  #arm(delayMs: number, sign: CsrSigner, retryMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = this.clock.setTimeout(() => {
      // The clock may not honour clearTimeout (an injected one need not), so a stopped certificate checks itself.
      if (this.#stopped) return;
      this.issue(sign).then(
        () => this.scheduleRenewal(sign),
        (err: unknown) => {
          if (this.#state && this.clock.now() >= this.#state.notAfter && this.onExpired) {
            // Renewal is authorised by the certificate itself: once it has expired, only a new bootstrap can help.
            this.log('certificate expired and could not be renewed', { error: String(err) });
            this.onExpired();
            return;
          }
          // Backoff must not sleep through the certificate's last chance: a control plane back before expiry would
          // find the proxy waiting while its certificate runs out. Near the end, retries come at half the time left.
          const left = this.#state ? this.#state.notAfter - this.clock.now() : Infinity;
          const delay = Math.min(retryMs, Math.max(MIN_RETRY_MS, left / 2));
          this.log('certificate renewal failed; retrying', { error: String(err), retryMs: delay });
          this.#arm(delay, sign, Math.min(retryMs * 2, MAX_RETRY_MS));
        },
      );
    }, delayMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

function buildState(spiffeId: string, keyPem: string, signed: SignedSvid, issuedAt: number): SvidState {
  const leaf = new X509Certificate(signed.certChainPem[0] ?? '');
  const cert = signed.certChainPem.join('\n');
  const ca = signed.trustBundlePem;
  return {
    spiffeId,
    keyPem,
    certChainPem: signed.certChainPem,
    trustBundlePem: signed.trustBundlePem,
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    issuedAt,
    serverContext: tls.createSecureContext({ key: keyPem, cert, ca, minVersion: 'TLSv1.2' }),
    clientContext: tls.createSecureContext({ key: keyPem, cert, ca, minVersion: 'TLSv1.2' }),
  };
}
