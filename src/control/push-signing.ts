/**
 * Certificate signing on the push listener: a proxy's first SVID, authorised by a single-use bootstrap token over
 * server-authenticated TLS, and renewals, authorised by the caller's own SVID (mTLS).
 */
import type http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { WeftError, isWeftError } from '../errors.js';
import type { CertificateAuthority } from '../identity/ca.js';
import type { BootstrapTokens } from '../identity/bootstrap-token.js';
import { splitPemCertificates } from '../identity/pem.js';
import { spiffeIdOfPeer } from '../identity/tls-peer.js';
import type { SignRequest, SignResponse } from '../push/protocol.js';
import type { ControlLog } from './control-log.js';

export interface SigningDeps {
  ca: CertificateAuthority;
  tokens: BootstrapTokens;
  trustDomain: () => string;
  certificateTtlMs: () => number;
  log: ControlLog;
}

const MAX_SIGN_BODY = 64 * 1024;

/** The SPIFFE ID of a verified client certificate, or undefined (none, or not signed by the mesh CA). */
export function verifiedSpiffeId(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  return spiffeIdOfPeer(socket.getPeerCertificate());
}

function peerSpiffeId(req: http2.Http2ServerRequest): string | undefined {
  return verifiedSpiffeId(req.socket as TLSSocket);
}

export async function signCertificate(deps: SigningDeps, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, renew: boolean): Promise<void> {
  try {
    if (req.method !== 'POST') throw new WeftError('BAD_REQUEST', 'use POST', { status: 405 });
    const body = JSON.parse(await readBody(req, MAX_SIGN_BODY)) as Partial<SignRequest>;
    if (typeof body.csr !== 'string') throw new WeftError('BAD_REQUEST', 'csr is required', { status: 400 });
    let spiffeId: string;
    if (renew) {
      const peer = peerSpiffeId(req);
      if (!peer) throw new WeftError('UNAUTHENTICATED', 'renewal needs a valid client certificate', { status: 401 });
      spiffeId = peer;
    } else {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ')) throw new WeftError('TOKEN_INVALID', 'a bootstrap token is required', { status: 401 });
      const claimed = { namespace: String(body.namespace ?? ''), serviceAccount: String(body.serviceAccount ?? ''), workload: String(body.workload ?? '') };
      const bound = await deps.tokens.consume(auth.slice(7), claimed);
      spiffeId = `spiffe://${deps.trustDomain()}/ns/${bound.namespace}/sa/${bound.serviceAccount}`;
    }
    const issued = await deps.ca.signCsr(body.csr, { spiffeId, ttlMs: deps.certificateTtlMs() });
    const answer: SignResponse = {
      certChain: splitPemCertificates(issued.chainPem),
      trustBundle: splitPemCertificates(deps.ca.trustBundlePem()),
    };
    deps.log.info(renew ? 'certificate renewed' : 'certificate issued', { spiffeId, notAfter: issued.notAfter.toISOString() });
    sendJson(res, 200, answer);
  } catch (err) {
    const status = isWeftError(err) ? (err.status ?? statusOf(err.code)) : err instanceof SyntaxError ? 400 : 500;
    const code = isWeftError(err) ? err.code : 'BAD_REQUEST';
    deps.log.warn('certificate request refused', { code, reason: (err as Error).message });
    sendJson(res, status, { error: { code, message: (err as Error).message } });
  }
}

function sendJson(res: http2.Http2ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function statusOf(code: string): number {
  if (code.startsWith('TOKEN_') || code === 'UNAUTHENTICATED') return 401;
  if (code === 'CSR_IDENTITY_MISMATCH' || code === 'FORBIDDEN') return 403;
  if (code === 'CSR_INVALID' || code === 'BAD_REQUEST') return 400;
  return 500;
}

function readBody(req: http2.Http2ServerRequest, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new WeftError('BAD_REQUEST', 'request body too large', { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
