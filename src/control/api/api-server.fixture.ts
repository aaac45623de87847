/**
 * Test fixture: the API handler on a real `http2.createSecureServer({ allowHTTP1: true })` at 127.0.0.1:0, over
 * a fresh SQLite store, with a throwaway self-signed certificate carrying the control plane's SPIFFE ID.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Resource } from '../../config/resource.js';
import { WeftError } from '../../errors.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { ApiCredentials, newCredentialKey } from './credentials.js';
import { createApiHandler } from './handler.js';
import type { ApiDeps, TokenSubject } from './handler.js';
import { UnauthenticatedTally } from './unauthenticated-tally.js';

export interface ApiFixture {
  dir: string;
  /** `https://127.0.0.1:<port>` */
  origin: string;
  address: string;
  caPem: string;
  adminSecret: string;
  viewerSecret: string;
  store: SqliteStore;
  credentials: ApiCredentials;
  /** The fixture's fake time (ms); credentials expire and unauthenticated calls are tallied against it. */
  clock: { now: number };
  unauthenticated: UnauthenticatedTally;
  workloadStatuses: Resource[];
  issued: { subject: TokenSubject; ttlMs: number }[];
  close(): Promise<void>;
}

/** Enough of validation to exercise the API: every problem of one document in one CONFIG_INVALID. */
export function fixtureValidate(doc: unknown, origin: string): Resource {
  const d = doc as Partial<Resource> | null;
  const issues: { file: string; field: string; message: string }[] = [];
  if (typeof d?.apiVersion !== 'string') issues.push({ file: origin, field: 'apiVersion', message: 'apiVersion is required' });
  if (typeof d?.kind !== 'string') issues.push({ file: origin, field: 'kind', message: 'kind is required' });
  if (typeof d?.metadata?.name !== 'string') issues.push({ file: origin, field: 'metadata.name', message: 'name is required' });
  if (issues.length > 0 || d === null) {
    throw new WeftError('CONFIG_INVALID', issues.map((i) => `${i.file}: ${i.field}: ${i.message}`).join('\n'), {
      status: 400,
      detail: { issues },
    });
  }
  const meta = d.metadata as Resource['metadata'];
  return {
    apiVersion: d.apiVersion as string,
    kind: d.kind as string,
    metadata: { name: meta.name, namespace: meta.namespace ?? 'default', labels: meta.labels ?? {}, annotations: meta.annotations ?? {} },
    spec: d.spec ?? {},
  };
}

export const FIXTURE_CONTROL_PLANE_ID = 'spiffe://cluster.local/ns/weft-system/sa/weft-control';

/** `serverSpiffeId: null` serves a certificate with no SPIFFE ID, as an impostor on the port would. */
export async function startApiFixture(
  overrides: Partial<ApiDeps> = {},
  options: { serverSpiffeId?: string | null; rootNamespace?: string } = {},
): Promise<ApiFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-api-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const spiffeId = options.serverSpiffeId === undefined ? FIXTURE_CONTROL_PLANE_ID : options.serverSpiffeId;
  const san = `subjectAltName=IP:127.0.0.1,DNS:localhost${spiffeId === null ? '' : `,URI:${spiffeId}`}`;
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile,
      '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', san],
    { stdio: 'ignore', timeout: 20_000 },
  );
  const [key, caPem] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
  const store = openSqliteStore(path.join(dir, 'store.db'));
  const clock = { now: Date.UTC(2026, 0, 1) };
  const credentials = new ApiCredentials(store, newCredentialKey(), () => clock.now);
  const adminSecret = (await credentials.create({ name: 'admin', role: 'mesh-admin', namespaces: [] })).secret;
  const viewerSecret = (await credentials.create({ name: 'dashboard', role: 'viewer', namespaces: [] })).secret;
  const unauthenticated = new UnauthenticatedTally({ clock: () => clock.now });
  const workloadStatuses: Resource[] = [];
  const issued: { subject: TokenSubject; ttlMs: number }[] = [];
  const handler = createApiHandler({
    store,
    credentials,
    rootNamespace: options.rootNamespace ?? 'weft-system',
    tokens: {
      issue: async (subject, ttlMs) => {
        issued.push({ subject, ttlMs });
        return `token-for-${subject.namespace}-${subject.serviceAccount}-${subject.workload}`;
      },
    },
    validate: fixtureValidate,
    proxyStatus: () => [{ name: 'reviews-v1', version: '7', acked: true }],
    onWorkloadStatus: (w) => workloadStatuses.push(w),
    unauthenticated,
    ...overrides,
  });
  const server = createSecureServer({ key, cert: caPem, allowHTTP1: true }, (req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(418);
        res.end('not the API');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const address = `127.0.0.1:${port}`;
  return {
    dir,
    origin: `https://${address}`,
    address,
    caPem,
    adminSecret,
    viewerSecret,
    store,
    credentials,
    clock,
    unauthenticated,
    workloadStatuses,
    issued,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
