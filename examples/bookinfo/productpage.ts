/**
 * bookinfo productpage: the front end. It calls details and reviews for every page, forwarding the trace
 * headers and the signed-in user (`end-user`), which is what lets the mesh route a named user to a version.
 * Upstream failures become Istio's error texts on the page, never a crashed request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson, sendText, servePod } from '../pod-server.js';
import { getJson, propagatedHeaders, serviceBaseUrl } from './service-call.js';
import type { ServiceReply } from './service-call.js';
import { BOOKINFO_CSS, escapeHtml, renderIndex, renderProductPage } from './productpage-html.js';
import type { Product, ReviewsView, Upstream } from './productpage-html.js';

const detailsUrl = serviceBaseUrl(process.env.DETAILS_URL, 'http://details:9080');
const reviewsUrl = serviceBaseUrl(process.env.REVIEWS_URL, 'http://reviews:9080');
const ratingsUrl = serviceBaseUrl(process.env.RATINGS_URL, 'http://ratings:9080');
const UPSTREAM_TIMEOUT_MS = 3_000;
const LOGIN_BODY_LIMIT = 16 * 1024;

const DETAILS_UNAVAILABLE = 'Sorry, product details are currently unavailable for this book.';
const REVIEWS_UNAVAILABLE = 'Sorry, product reviews are currently unavailable for this book.';
const RATINGS_UNAVAILABLE = 'Sorry, product ratings are currently unavailable for this book.';

const PRODUCTS: Product[] = [
  {
    id: 0,
    title: 'The Comedy of Errors',
    summaryLink: 'https://en.wikipedia.org/wiki/The_Comedy_of_Errors',
    summary:
      "The Comedy of Errors is one of William Shakespeare's early plays. It is his shortest and one of his most " +
      'farcical comedies, with a major part of the humour coming from slapstick and mistaken identity, in addition ' +
      'to puns and word play.',
  },
];

/** The signed-in user, from the `session` cookie that /login sets. */
function sessionUser(req: IncomingMessage): string {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'session') {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return '';
      }
    }
  }
  return '';
}

/** Headers for upstream calls. `end-user` is taken from the session only, never from the client's own header. */
function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const headers = propagatedHeaders(req.headers);
  delete headers['end-user'];
  const user = sessionUser(req);
  if (user !== '') headers['end-user'] = user;
  return headers;
}

interface Fetched {
  status: number;
  result: Upstream<unknown>;
}

async function fetchOnce(url: string, headers: Record<string, string>): Promise<ServiceReply | undefined> {
  try {
    return await getJson(url, headers, UPSTREAM_TIMEOUT_MS);
  } catch (err) {
    console.log(`productpage: ${url} failed: ${(err as Error).message}`);
    return undefined;
  }
}

/** Istio's productpage tries reviews twice (its fault-injection task depends on it); details and ratings once. */
async function fetchUpstream(url: string, headers: Record<string, string>, attempts: number, error: string): Promise<Fetched> {
  let reply: ServiceReply | undefined;
  for (let i = 0; i < attempts; i++) {
    reply = await fetchOnce(url, headers);
    if (reply?.status === 200 && reply.body !== null) return { status: 200, result: { ok: true, value: reply.body } };
  }
  const status = reply !== undefined && reply.status !== 200 ? reply.status : 500;
  return { status, result: { ok: false, error } };
}

const fetchDetails = (id: string, h: Record<string, string>) =>
  fetchUpstream(`${detailsUrl}/details/${id}`, h, 1, DETAILS_UNAVAILABLE);
const fetchReviews = (id: string, h: Record<string, string>) =>
  fetchUpstream(`${reviewsUrl}/reviews/${id}`, h, 2, REVIEWS_UNAVAILABLE);
const fetchRatings = (id: string, h: Record<string, string>) =>
  fetchUpstream(`${ratingsUrl}/ratings/${id}`, h, 1, RATINGS_UNAVAILABLE);

function sendUpstream(res: ServerResponse, fetched: Fetched): void {
  sendJson(res, fetched.status, fetched.result.ok ? fetched.result.value : { error: fetched.result.error });
}

async function productPage(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const product = PRODUCTS[0] as Product;
  const headers = forwardHeaders(req);
  const [details, reviews] = await Promise.all([fetchDetails(String(product.id), headers), fetchReviews(String(product.id), headers)]);
  const html = renderProductPage({
    product,
    user: sessionUser(req),
    details: details.result as Upstream<Record<string, unknown>>,
    reviews: reviews.result as Upstream<ReviewsView>,
  });
  sendText(res, 200, html, 'text/html; charset=utf-8');
}

/** The API's product entry, Istio's shape: the summary as a small HTML fragment. */
function productListing(p: Product): { id: number; title: string; descriptionHtml: string } {
  const descriptionHtml = `<a href="${escapeHtml(p.summaryLink)}">Wikipedia Summary</a>: ${escapeHtml(p.summary)}`;
  return { id: p.id, title: p.title, descriptionHtml };
}

function redirect(res: ServerResponse, location: string, cookie: string): void {
  res.writeHead(302, { location, 'set-cookie': cookie, 'content-length': 0 });
  res.end();
}

async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = new URLSearchParams((await readBody(req, LOGIN_BODY_LIMIT)).toString('utf8'));
  const user = (form.get('username') ?? '').trim();
  if (user === '') return redirect(res, '/productpage', 'session=; Path=/; Max-Age=0');
  redirect(res, '/productpage', `session=${encodeURIComponent(user)}; Path=/; HttpOnly; SameSite=Lax`);
}

const INDEX_SERVICES = [
  { name: 'productpage', url: 'http://productpage:9080', calls: ['details', 'reviews'] },
  { name: 'details', url: detailsUrl, calls: [] },
  { name: 'reviews', url: reviewsUrl, calls: ['ratings'] },
  { name: 'ratings', url: ratingsUrl, calls: [] },
];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://productpage').pathname;
  const method = req.method ?? 'GET';
  if (method === 'POST' && path === '/login') return login(req, res);
  if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });

  if (path === '/' || path === '/index.html') return sendText(res, 200, renderIndex(INDEX_SERVICES), 'text/html; charset=utf-8');
  if (path === '/health') return sendText(res, 200, 'Product page is healthy');
  if (path === '/productpage') return productPage(req, res);
  if (path === '/logout') return redirect(res, '/productpage', 'session=; Path=/; Max-Age=0');
  if (path === '/static/css/bookinfo.css') return sendText(res, 200, BOOKINFO_CSS, 'text/css; charset=utf-8');
  if (path === '/api/v1/products') return sendJson(res, 200, PRODUCTS.map(productListing));

  const api = /^\/api\/v1\/products\/(\d+)(\/reviews|\/ratings)?$/.exec(path);
  if (api !== null) {
    const id = String(Number(api[1]));
    const headers = forwardHeaders(req);
    if (api[2] === '/reviews') return sendUpstream(res, await fetchReviews(id, headers));
    if (api[2] === '/ratings') return sendUpstream(res, await fetchRatings(id, headers));
    return sendUpstream(res, await fetchDetails(id, headers));
  }
  sendJson(res, 404, { error: 'not found' });
}

await servePod(handle, { app: 'productpage', defaultPort: 9080 });
