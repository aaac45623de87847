/**
 * The native baseline of the same shape as weft's path: nginx as the client sidecar (plain HTTP in, mutual TLS
 * out, keep-alive pool) and nginx as the server sidecar (mutual TLS in, verifying the client against the mesh
 * root, keep-alive pool to the app). Each is one process (no master) so its pid is the one to measure and pin.
 * Both carry mesh SVIDs signed by the mesh's own CA, and both write an access log, as weft's sidecars do.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import 'reflect-metadata';
import { CertificateAuthority } from '../src/identity/ca.js';
import { createCsr, generateWorkloadKey } from '../src/identity/workload-key.js';
import { waitForPort } from '../src/mesh/wait-for-port.js';

export interface NginxPair {
  /** Plain HTTP/1.1 listener of the client sidecar. */
  clientUrl: string;
  /** h2c listener of the client sidecar (it still speaks HTTP/1.1 over mTLS to the server sidecar). */
  clientH2Url: string;
  clientPid: number;
  serverPid: number;
  stop(): Promise<void>;
}

export async function svid(ca: CertificateAuthority, spiffeId: string): Promise<{ key: string; cert: string }> {
  const key = await generateWorkloadKey();
  const issued = await ca.signCsr(await createCsr(key, spiffeId), { spiffeId, ttlMs: 24 * 3600_000 });
  return { key: key.privateKeyPem, cert: issued.chainPem };
}

export function common(dir: string, name: string): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}.error.log warn;
events { worker_connections 8192; }
`;
}

export function httpCommon(dir: string, name: string): string {
  return `  access_log ${dir}/${name}.access.log combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/${name}-body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fastcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
`;
}

export function clientSidecarConf(dir: string, o: { listen: string; listenH2: string; server: string }): string {
  return `${common(dir, 'client')}http {
${httpCommon(dir, 'client')}  upstream server_sidecar {
    server ${o.server};
    keepalive 256;
    keepalive_requests 100000000;
  }
  server {
    listen ${o.listen} backlog=4096;
    listen ${o.listenH2} http2;
    location / {
      proxy_pass https://server_sidecar;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate ${dir}/client.crt;
      proxy_ssl_certificate_key ${dir}/client.key;
      # nginx checks a host name, and SVIDs carry only a SPIFFE URI: the server sidecar's chain is not checked
      # here (the server checks the client's). Handshakes are rare on keep-alive, so the per-request cost is alike.
      proxy_ssl_verify off;
      proxy_ssl_session_reuse on;
      proxy_ssl_protocols TLSv1.3;
    }
  }
}
`;
}

export function serverSidecarConf(dir: string, o: { listen: string; app: string }): string {
  return `${common(dir, 'server')}http {
${httpCommon(dir, 'server')}  upstream app {
    server ${o.app};
    keepalive 256;
    keepalive_requests 100000000;
  }
  server {
    listen ${o.listen} ssl backlog=4096;
    ssl_certificate ${dir}/server.crt;
    ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/root.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Client-Cert-Subject-Dn $ssl_client_s_dn;
    }
  }
}
`;
}

export function startNginx(dir: string, name: string, conf: string): ChildProcess {
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(file, conf);
  return spawn('nginx', ['-c', file, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts the pair in `dir` with certificates from the CA in `caDir`; `ports` are free loopback ports
 * (client HTTP/1.1, client h2c, server mTLS); `app` is host:port of the upstream.
 */
export async function startNginxPair(o: { dir: string; caDir: string; trustDomain: string; app: string; ports: [number, number, number] }): Promise<NginxPair> {
  fs.mkdirSync(o.dir, { recursive: true });
  const ca = await CertificateAuthority.loadOrCreate(o.caDir);
  const client = await svid(ca, `spiffe://${o.trustDomain}/ns/default/sa/nginx-client`);
  const server = await svid(ca, `spiffe://${o.trustDomain}/ns/default/sa/nginx-server`);
  fs.writeFileSync(path.join(o.dir, 'client.crt'), client.cert);
  fs.writeFileSync(path.join(o.dir, 'client.key'), client.key, { mode: 0o600 });
  fs.writeFileSync(path.join(o.dir, 'server.crt'), server.cert);
  fs.writeFileSync(path.join(o.dir, 'server.key'), server.key, { mode: 0o600 });
  fs.copyFileSync(path.join(o.caDir, 'root-cert.pem'), path.join(o.dir, 'root.crt'));
  const [h1, h2, mtls] = o.ports;
  const serverProc = startNginx(o.dir, 'server', serverSidecarConf(o.dir, { listen: `127.0.0.1:${mtls}`, app: o.app }));
  const clientProc = startNginx(o.dir, 'client', clientSidecarConf(o.dir, { listen: `127.0.0.1:${h1}`, listenH2: `127.0.0.1:${h2}`, server: `127.0.0.1:${mtls}` }));
  const stop = async (): Promise<void> => {
    await Promise.all([stopChild(clientProc), stopChild(serverProc)]);
  };
  try {
    await waitForPort('127.0.0.1', mtls, 10_000, () => serverProc.exitCode === null);
    await waitForPort('127.0.0.1', h1, 10_000, () => clientProc.exitCode === null);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    clientUrl: `http://127.0.0.1:${h1}/`,
    clientH2Url: `http://127.0.0.1:${h2}/`,
    clientPid: clientProc.pid ?? 0,
    serverPid: serverProc.pid ?? 0,
    stop,
  };
}
