/**
 * API credentials: bearer secrets for the CLI and the dashboard. Only a SHA-256 of each secret is kept, so a
 * copy of the database does not grant access. A secret reads `weft_<id>_<random>`: the public id finds the
 * record, then the hashes are compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiRole, CredentialRecords } from '../store/credential-records.js';
import type { Clock } from '../store/types.js';

export type { ApiRole } from '../store/credential-records.js';

export interface ApiPrincipal {
  /** The actor named in audit records. */
  name: string;
  role: ApiRole;
  /** The id of the credential presented, recorded beside the name in audit records. */
  credentialId?: string;
}

export interface CredentialVerifier {
  /** The principal a presented secret belongs to, or undefined if it belongs to none. */
  verify(secret: string): Promise<ApiPrincipal | undefined>;
}

export interface CredentialHolder {
  readonly credentials: CredentialRecords;
}

const SECRET_FORMAT = /^weft_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const NAME_FORMAT = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Issues a credential and returns its secret (shown once, never stored). Issuing again under the same name
 * rotates it: the old secret stops working.
 */
export function createCredential(
  store: CredentialHolder,
  options: { name: string; role: ApiRole },
  clock: Clock = Date.now,
): string {
  if (!NAME_FORMAT.test(options.name)) {
    throw new TypeError(`credential name ${JSON.stringify(options.name)} must match ${String(NAME_FORMAT)}`);
  }
  if (options.role !== 'admin' && options.role !== 'viewer') {
    throw new TypeError(`credential role must be admin or viewer, not ${JSON.stringify(options.role)}`);
  }
  const id = randomBytes(8).toString('hex');
  const secret = `weft_${id}_${randomBytes(32).toString('base64url')}`;
  store.credentials.put({
    id,
    name: options.name,
    role: options.role,
    secretSha256: sha256(secret),
    createdAt: new Date(clock()).toISOString(),
  });
  return secret;
}

export function createCredentialVerifier(store: CredentialHolder): CredentialVerifier {
  // Compared against when the id is unknown, so a miss costs the same as a wrong secret.
  const decoy = sha256('weft-decoy');
  return {
    async verify(secret: string): Promise<ApiPrincipal | undefined> {
      const match = SECRET_FORMAT.exec(secret);
      const record = match?.[1] === undefined ? undefined : store.credentials.findById(match[1]);
      const presented = sha256(secret);
      const equal = timingSafeEqual(presented, record?.secretSha256 ?? decoy);
      if (record === undefined || !equal) return undefined;
      return { name: record.name, role: record.role, credentialId: record.id };
    },
  };
}
