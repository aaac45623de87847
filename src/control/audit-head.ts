/**
 * Signing the audit chain's head: the control plane signs the newest entry's hash with the audit key now and
 * then and when it stops, appends the signed head to the chain, and writes it to a file outside the store. A
 * store cut back to an earlier entry then disagrees with the newest head, which nobody without the key can
 * remake; removing entries after the last signed head stays undetectable, which is why the interval is short.
 */
import fs from 'node:fs';
import { WeftError } from '../errors.js';
import type { AuditSigner, AuditVerifierKey } from '../identity/audit-key.js';
import { headPayload } from './store/audit-chain.js';
import type { SignedHead } from './store/audit-chain.js';
import type { Clock, ResourceStore } from './store/types.js';

/** Signs the chain's newest entry unless it is a signed head already; returns the head signed, if any. */
export async function signAuditHead(
  store: ResourceStore,
  signer: AuditSigner,
  headFile: string,
  clock: Clock,
): Promise<SignedHead | undefined> {
  const tail = await store.auditTail();
  if (tail === undefined || tail.type === 'head') return undefined;
  const claim = { seq: tail.seq, hash: tail.hash, signedAt: new Date(clock()).toISOString(), keyId: signer.keyId };
  const signed: SignedHead = { ...claim, signature: signer.sign(headPayload(claim)) };
  await store.appendAudit({ type: 'head', signed });
  const temp = `${headFile}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(signed)}\n`, { mode: 0o644 });
  fs.renameSync(temp, headFile);
  return signed;
}

export function readHeadFile(file: string): SignedHead | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WeftError('AUDIT_INVALID', `cannot read the signed head ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as SignedHead;
  } catch {
    throw new WeftError('AUDIT_INVALID', `the signed head ${file} is not JSON`);
  }
}

/** True for a head signed by `key` whose signature covers exactly its claim. */
export function headSignatureChecker(key: AuditVerifierKey): (head: SignedHead) => boolean {
  return (head) =>
    typeof head.signature === 'string' && head.keyId === key.keyId && key.verify(headPayload(head), head.signature);
}
