/**
 * bookinfo ratings: the stars each reviewer gave. Answers like Istio's ratings v1 (in-memory data).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, servePod } from '../pod-server.js';

interface ProductRatings {
  id: number;
  ratings: Record<string, number>;
}

function productRatings(id: number): ProductRatings {
  return { id, ratings: { Reviewer1: 5, Reviewer2: 4 } };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://ratings').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
  if (path === '/health') return sendJson(res, 200, { status: 'Ratings is healthy' });
  const match = /^\/ratings\/([^/]*)$/.exec(path);
  if (match === null) return sendJson(res, 404, { error: 'not found' });
  const id = Number(match[1]);
  if (match[1] === '' || !Number.isSafeInteger(id)) {
    return sendJson(res, 400, { error: 'please provide numeric product ID' });
  }
  sendJson(res, 200, productRatings(id));
}

await servePod(handle, { app: 'ratings', defaultPort: 9080 });
