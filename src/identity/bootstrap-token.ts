/**
 * Single-use bootstrap tokens: how a new proxy proves, once, which workload identity it may ask an SVID for.
 * A token `wft1.<id>.<secret>` is bound at issue time to one namespace, service account and workload; the
 * store keeps only a SHA-256 of the secret, so a leaked database cannot mint SVIDs. After its first use the
 * proxy renews over its mTLS stream and the token is dead.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { WeftError } from '../errors.js';
import { validatePathSegment } from './spiffe-id.js';

export interface TokenBinding {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The workload (pod) name the token was issued for. */
  readonly workload: string;
}

/** What a store keeps per token: JSON-safe, no secret. */
export interface TokenRecord extends TokenBinding {
  /** Lowercase hex SHA-256 of the secret part. */
  readonly secretSha256: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * Persistence for tokens. `markUsed` must be atomic: true for exactly one caller on a known, unused token,
 * false otherwise; that is what makes a token single-use across concurrent requests.
 */
export interface TokenStore {
  put(id: string, record: TokenRecord): Promise<void>;
  get(id: string): Promise<TokenRecord | undefined>;
  markUsed(id: string, at: number): Promise<boolean>;
}

/** An in-memory TokenStore, for tests and single-process tools; the control plane persists tokens in its database. */
export class MemoryTokenStore implements TokenStore {
  readonly #records = new Map<string, TokenRecord>();
  readonly #usedAt = new Map<string, number>();

  async put(id: string, record: TokenRecord): Promise<void> {
    this.#records.set(id, record);
    this.#usedAt.delete(id);
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    return this.#records.get(id);
  }

  async markUsed(id: string, at: number): Promise<boolean> {
    if (!this.#records.has(id) || this.#usedAt.has(id)) return false;
    this.#usedAt.set(id, at);
    return true;
  }
}

const PREFIX = 'wft1';
const ID_BYTES = 16;
const SECRET_BYTES = 32;
const TOKEN_SHAPE = /^wft1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function sameBinding(a: TokenBinding, b: TokenBinding): boolean {
  return a.namespace === b.namespace && a.serviceAccount === b.serviceAccount && a.workload === b.workload;
}

function describe(b: TokenBinding): string {
  return `${b.namespace}/${b.serviceAccount} (workload ${b.workload})`;
}

export class BootstrapTokens {
  readonly #store: TokenStore;
  readonly #clock: () => number;

  constructor(store: TokenStore, clock: () => number = Date.now) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Issues a token bound to `binding`, valid for `ttlMs`; the returned string is the only copy of the secret. */
  async issue(binding: TokenBinding, ttlMs: number): Promise<string> {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError(`ttlMs must be a positive number, got ${ttlMs}`);
    // Namespace and service account become SPIFFE path segments, so they must be valid ones.
    validatePathSegment(binding.namespace);
    validatePathSegment(binding.serviceAccount);
    if (typeof binding.workload !== 'string' || binding.workload.length === 0) {
      throw new TypeError('workload must be a non-empty string');
    }
    const id = randomBytes(ID_BYTES).toString('base64url');
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const now = this.#clock();
    await this.#store.put(id, {
      namespace: binding.namespace,
      serviceAccount: binding.serviceAccount,
      workload: binding.workload,
      secretSha256: sha256(secret).toString('hex'),
      issuedAt: now,
      expiresAt: now + ttlMs,
    });
    return `${PREFIX}.${id}.${secret}`;
  }

  /**
   * Spends a token for the identity the proxy claims. Refusals, in the order checked: TOKEN_INVALID
   * (malformed, unknown, wrong secret), TOKEN_EXPIRED, TOKEN_IDENTITY_MISMATCH (which leaves the token
   * usable by its rightful workload), TOKEN_REPLAYED (used before).
   */
  async consume(token: string, claimed: TokenBinding): Promise<TokenBinding> {
    const match = typeof token === 'string' ? TOKEN_SHAPE.exec(token) : null;
    const id = match?.[1];
    const secret = match?.[2];
    if (id === undefined || secret === undefined) {
      throw new WeftError('TOKEN_INVALID', 'bootstrap token is malformed (expected wft1.<id>.<secret>)', { status: 401 });
    }
    const record = await this.#store.get(id);
    if (record === undefined) {
      throw new WeftError('TOKEN_INVALID', `bootstrap token ${id} is unknown`, { status: 401, detail: { tokenId: id } });
    }
    const expected = Buffer.from(record.secretSha256, 'hex');
    const actual = sha256(secret);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new WeftError('TOKEN_INVALID', `bootstrap token ${id} has a wrong secret`, { status: 401, detail: { tokenId: id } });
    }
    const now = this.#clock();
    if (now >= record.expiresAt) {
      throw new WeftError('TOKEN_EXPIRED', `bootstrap token ${id} expired at ${new Date(record.expiresAt).toISOString()}`, {
        status: 401,
        detail: { tokenId: id, expiresAt: record.expiresAt },
      });
    }
    if (!sameBinding(record, claimed)) {
      throw new WeftError(
        'TOKEN_IDENTITY_MISMATCH',
        `bootstrap token ${id} is bound to ${describe(record)}, not ${describe(claimed)}`,
        { status: 403, detail: { tokenId: id } },
      );
    }
    if (!(await this.#store.markUsed(id, now))) {
      throw new WeftError('TOKEN_REPLAYED', `bootstrap token ${id} was already used`, { status: 401, detail: { tokenId: id } });
    }
    return { namespace: record.namespace, serviceAccount: record.serviceAccount, workload: record.workload };
  }
}
