/**
 * The native baseline for HTTP/2 and gRPC, of the same hop structure as weft's: nginx as the client sidecar (h2c
 * in, HTTP/2 over mutual TLS out with `grpc_pass grpcs://`) and nginx as the server sidecar (HTTP/2 over mutual TLS
 * in, verifying the client against the mesh root, h2c to the app with `grpc_pass grpc://`). nginx's gRPC proxy
 * speaks HTTP/2 upstream for any request, gRPC or not, so the same pair carries the plain HTTP/2 scenario. It does
 * not multiplex: each request in flight holds one upstream connection (kept alive and reused afterwards), where
 * weft's sidecars carry concurrent streams on a few shared sessions. Same SVIDs, access logs and process model as
 * nginx-pair.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import 'reflect-metadata';
import { CertificateAuthority } from '../src/identity/ca.js';
import { waitForPort } from '../src/mesh/wait-for-port.js';
import { common, httpCommon, startNginx, stopChild, svid } from './nginx-pair.js';
import { onTeardown } from './teardown.js';

export interface NginxH2Pair {
  /** h2c (prior knowledge) listener of the client sidecar. */
  clientUrl: string;
  clientPid: number;
  serverPid: number;
  stop(): Promise<void>;
}

// Idle upstream connections kept per worker: above the most requests a run has in flight (clients × streams), so
// nginx never closes one after a request and handshakes again under load.
const KEEPALIVE = 1024;

export function h2ClientSidecarConf(dir: string, o: { listen: string; server: string }): string {
  return `${common(dir, 'client')}http {
${httpCommon(dir, 'client')}  upstream server_sidecar {
    server ${o.server};
    keepalive ${KEEPALIVE};
    keepalive_requests 100000000;
  }
  server {
    listen ${o.listen} http2 backlog=4096;
    location / {
      grpc_pass grpcs://server_sidecar;
      grpc_ssl_certificate ${dir}/client.crt;
      grpc_ssl_certificate_key ${dir}/client.key;
      # As in nginx-pair.ts: SVIDs carry no host name for nginx to check; the server verifies the client.
      grpc_ssl_verify off;
      grpc_ssl_session_reuse on;
      grpc_ssl_protocols TLSv1.3;
    }
  }
}
`;
}

export function h2ServerSidecarConf(dir: string, o: { listen: string; app: string }): string {
  return `${common(dir, 'server')}http {
${httpCommon(dir, 'server')}  upstream app {
    server ${o.app};
    keepalive ${KEEPALIVE};
    keepalive_requests 100000000;
  }
  server {
    listen ${o.listen} ssl http2 backlog=4096;
    ssl_certificate ${dir}/server.crt;
    ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/root.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.3;
    location / {
      grpc_pass grpc://app;
      grpc_set_header X-Client-Cert-Subject-Dn $ssl_client_s_dn;
    }
  }
}
`;
}

/** Starts the pair in `dir` with SVIDs from the CA in `caDir`; `ports` are free loopback ports (client h2c, server mTLS). */
export async function startNginxH2Pair(o: { dir: string; caDir: string; trustDomain: string; app: string; ports: [number, number] }): Promise<NginxH2Pair> {
  fs.mkdirSync(o.dir, { recursive: true });
  const ca = await CertificateAuthority.loadOrCreate(o.caDir);
  const client = await svid(ca, `spiffe://${o.trustDomain}/ns/default/sa/nginx-client`);
  const server = await svid(ca, `spiffe://${o.trustDomain}/ns/default/sa/nginx-server`);
  fs.writeFileSync(path.join(o.dir, 'client.crt'), client.cert);
  fs.writeFileSync(path.join(o.dir, 'client.key'), client.key, { mode: 0o600 });
  fs.writeFileSync(path.join(o.dir, 'server.crt'), server.cert);
  fs.writeFileSync(path.join(o.dir, 'server.key'), server.key, { mode: 0o600 });
  fs.copyFileSync(path.join(o.caDir, 'root-cert.pem'), path.join(o.dir, 'root.crt'));
  const [h2c, mtls] = o.ports;
  const procs: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map(stopChild));
    unregister();
  };
  // Registered before the first process starts, so a run cancelled at any point still stops both.
  const unregister = onTeardown({
    what: `nginx HTTP/2 pair in ${o.dir}`,
    stop,
    kill: () => {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    },
  });
  const serverProc = startNginx(o.dir, 'server', h2ServerSidecarConf(o.dir, { listen: `127.0.0.1:${mtls}`, app: o.app }));
  procs.push(serverProc);
  const clientProc = startNginx(o.dir, 'client', h2ClientSidecarConf(o.dir, { listen: `127.0.0.1:${h2c}`, server: `127.0.0.1:${mtls}` }));
  procs.push(clientProc);
  try {
    await waitForPort('127.0.0.1', mtls, 10_000, () => serverProc.exitCode === null);
    await waitForPort('127.0.0.1', h2c, 10_000, () => clientProc.exitCode === null);
  } catch (err) {
    await stop();
    throw err;
  }
  return { clientUrl: `http://127.0.0.1:${h2c}/`, clientPid: clientProc.pid ?? 0, serverPid: serverProc.pid ?? 0, stop };
}
