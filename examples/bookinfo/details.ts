/**
 * bookinfo details: the book's publication facts. Answers like Istio's details v1 (static data for every id).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, servePod } from '../pod-server.js';

interface BookDetails {
  id: number;
  author: string;
  year: number;
  type: string;
  pages: number;
  publisher: string;
  language: string;
  'ISBN-10': string;
  'ISBN-13': string;
}

function bookDetails(id: number): BookDetails {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://details').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
  if (path === '/health') return sendJson(res, 200, { status: 'Details is healthy' });
  const match = /^\/details\/([^/]*)$/.exec(path);
  if (match === null) return sendJson(res, 404, { error: 'not found' });
  const id = Number(match[1]);
  if (match[1] === '' || !Number.isSafeInteger(id)) {
    return sendJson(res, 400, { error: 'please provide numeric product id' });
  }
  sendJson(res, 200, bookDetails(id));
}

await servePod(handle, { app: 'details', defaultPort: 9080 });
