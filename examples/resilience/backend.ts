/**
 * backend: a small app to watch traffic management from the upstream's side. Every request that carries
 * `x-test-key` is remembered (method, path, Host) so a caller can ask what reached this pod:
 *   GET /calls?key=K           what arrived here with that key: { version, count, requests }
 *   /fail-first/N              503 for the first N requests of a key, then 200 (retries, counted here)
 *   /delay/MS                  answers after MS milliseconds (timeouts, circuit breaking)
 *   /status/N                  answers N
 *   PUT /failing?on=true|false every answer (but /calls) becomes 500 while on (outlier detection)
 *   anything else              200 with { version, path, host }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, servePod } from '../pod-server.js';

const version = process.env.VERSION ?? 'v1';
const seen = new Map<string, Array<{ method: string; path: string; host: string }>>();
let failing = false;

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://backend');
  if (url.pathname === '/calls') {
    const requests = seen.get(url.searchParams.get('key') ?? '') ?? [];
    return sendJson(res, 200, { version, count: requests.length, requests });
  }
  if (url.pathname === '/failing' && req.method === 'PUT') {
    failing = url.searchParams.get('on') === 'true';
    return sendJson(res, 200, { version, failing });
  }
  const key = header(req, 'x-test-key');
  let count = 0;
  if (key !== '') {
    const list = seen.get(key) ?? [];
    list.push({ method: req.method ?? '', path: req.url ?? '', host: header(req, 'host') });
    seen.set(key, list);
    count = list.length;
  }
  if (failing) return sendJson(res, 500, { version, error: 'failing on purpose' });
  const failFirst = /^\/fail-first\/(\d+)$/.exec(url.pathname);
  if (failFirst) return sendJson(res, count <= Number(failFirst[1]) ? 503 : 200, { version, count });
  const delay = /^\/delay\/(\d+)$/.exec(url.pathname);
  if (delay) await new Promise((r) => setTimeout(r, Math.min(Number(delay[1]), 30_000)));
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  sendJson(res, status ? Number(status[1]) : 200, { version, path: req.url ?? '', host: header(req, 'host') });
}

await servePod(handle, { app: `backend-${version}`, defaultPort: 8080 });
