/**
 * TLS from weft to etcd: the client's CA, certificate and key (etcd's own flag names: --etcd-cacert, --etcd-cert,
 * --etcd-key), and what went wrong when the store cannot be opened. gRPC reports a failed handshake as an
 * unavailable member, the same as a member that is down; when opening fails, each endpoint is probed with a
 * plain TLS (or plaintext HTTP/2) handshake to say which of the usual mistakes it is: a member whose certificate
 * does not chain to the CA given, a plaintext member named with https://, a TLS member named with http://, a
 * client certificate missing or refused.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { IOptions } from 'etcd3';
import { WeftError } from '../../errors.js';

export interface EtcdClientTls {
  /** PEM roots the members' certificates must chain to. */
  caFile: string;
  /** The client certificate and its key, for members started with --client-cert-auth. */
  certFile?: string;
  keyFile?: string;
}

// The probe runs only after opening failed, so a long wait costs only a slower error; 2 s was too short for a
// member on a busy machine to reject a ClientHello, and the mistake then went unnamed.
const PROBE_TIMEOUT_MS = 5_000;
/** HTTP/2's client preface and an empty SETTINGS frame: a gRPC server answers with its own SETTINGS. */
const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** Refuses a mix of schemes, or TLS files with plaintext endpoints, before anything connects. */
export function checkEtcdEndpoints(endpoints: readonly string[], tlsFiles: EtcdClientTls | undefined): void {
  const https = endpoints.filter((e) => e.startsWith('https://')).length;
  if (https !== 0 && https !== endpoints.length) throw new WeftError('BAD_REQUEST', 'etcd endpoints mix http:// and https://: a cluster speaks one or the other');
  if (tlsFiles !== undefined && https === 0) throw new WeftError('BAD_REQUEST', '--etcd-cacert/--etcd-cert/--etcd-key need https:// etcd endpoints');
  if (tlsFiles !== undefined && (tlsFiles.certFile === undefined) !== (tlsFiles.keyFile === undefined)) {
    throw new WeftError('BAD_REQUEST', '--etcd-cert and --etcd-key go together');
  }
}

/** What etcd3 passes to gRPC's createSsl; undefined for plaintext (or https:// with the system's roots). */
export function etcdCredentials(tlsFiles: EtcdClientTls | undefined): IOptions['credentials'] {
  if (tlsFiles === undefined) return undefined;
  return {
    rootCertificate: fs.readFileSync(tlsFiles.caFile),
    ...(tlsFiles.certFile === undefined ? {} : { certChain: fs.readFileSync(tlsFiles.certFile) }),
    ...(tlsFiles.keyFile === undefined ? {} : { privateKey: fs.readFileSync(tlsFiles.keyFile) }),
  };
}

/** The first endpoint's TLS mistake, if opening failed because of one; undefined when every endpoint handshakes. */
export async function diagnoseEtcdTls(endpoints: readonly string[], tlsFiles: EtcdClientTls | undefined): Promise<string | undefined> {
  for (const endpoint of endpoints) {
    const url = new URL(endpoint);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    const problem = url.protocol === 'https:' ? await probeTls(host, port, tlsFiles) : await probePlaintext(host, port);
    if (problem !== undefined) return `etcd at ${endpoint}: ${problem}`;
  }
  return undefined;
}

type ProbeResult = string | undefined;

function probeTls(host: string, port: number, files: EtcdClientTls | undefined): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ...(net.isIP(host) ? {} : { servername: host }),
      ...(files === undefined ? {} : { ca: fs.readFileSync(files.caFile) }),
      ...(files?.certFile === undefined ? {} : { cert: fs.readFileSync(files.certFile) }),
      ...(files?.keyFile === undefined ? {} : { key: fs.readFileSync(files.keyFile) }),
      ALPNProtocols: ['h2'],
    });
    let settled = false;
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(undefined));
    // With TLS 1.3 a refused client certificate shows only after the handshake: wait for the server's first frame.
    socket.once('secureConnect', () => socket.write(H2_PREFACE));
    socket.once('data', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(explainTls(err, files?.certFile !== undefined)));
    socket.once('close', () => done(undefined));
  });
}

function explainTls(err: NodeJS.ErrnoException, sentCertificate: boolean): ProbeResult {
  const code = err.code ?? '';
  const text = `${code} ${err.message}`;
  if (['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE'].includes(code)) {
    return `its certificate does not chain to --etcd-cacert (${code})`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `its certificate is not valid now (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `its certificate does not name the host in the endpoint (${err.message})`;
  // A plaintext gRPC server either answers the ClientHello with bytes that are not TLS or drops it unanswered.
  if (/wrong version number|packet length too long|unknown protocol|record layer failure|disconnected before secure TLS connection/i.test(text)) {
    return 'it does not speak TLS: name it with http://, or start etcd with client TLS';
  }
  // Go's TLS answers a missing client certificate with bad_certificate (1.2) or certificate_required (1.3).
  const refusedCertificate = /certificate required|unknown ca|bad certificate|certificate unknown|unsupported certificate/i.test(text);
  if (refusedCertificate && !sentCertificate) return 'it asks for a client certificate: give --etcd-cert and --etcd-key';
  if (refusedCertificate) return `it refused the client certificate (--etcd-cert is not from a CA etcd trusts): ${code || err.message}`;
  return undefined;
}

/** A plaintext member answers the HTTP/2 preface with SETTINGS; a TLS member drops it, then completes a handshake. */
async function probePlaintext(host: string, port: number): Promise<ProbeResult> {
  const answered = await new Promise<boolean | undefined>((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    const done = (r: boolean | undefined): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(undefined));
    socket.once('connect', () => socket.write(H2_PREFACE));
    socket.once('data', (d: Buffer) => done(d.length >= 4 && d[3] === 4));
    socket.once('error', () => done(undefined));
    socket.once('close', () => done(false));
  });
  if (answered !== false) return undefined;
  const speaksTls = await new Promise<boolean>((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (r: boolean): void => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
  return speaksTls ? 'it speaks TLS: name it with https:// and give --etcd-cacert (and --etcd-cert, --etcd-key if it checks clients)' : undefined;
}
