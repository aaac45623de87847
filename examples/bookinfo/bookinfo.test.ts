import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalPod } from '../local-pod.js';
import type { LocalPod } from '../local-pod.js';

const app = (name: string): URL => new URL(`./${name}.js`, import.meta.url);
const pods: LocalPod[] = [];
const servers: Server[] = [];

async function pod(name: string, env: Record<string, string> = {}): Promise<LocalPod> {
  const started = await startLocalPod(app(name), env);
  pods.push(started);
  return started;
}

interface Recorded {
  url: string;
  headers: IncomingHttpHeaders;
}

/** A stand-in upstream (or forward proxy) that records what it was sent and answers from a table by path. */
async function recorder(answers: Record<string, unknown>): Promise<{ url: string; seen: Recorded[] }> {
  const seen: Recorded[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    // A forward proxy is sent absolute-form targets; an upstream is sent origin-form paths.
    const path = new URL(req.url ?? '/', 'http://unused').pathname;
    const body = answers[path];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A URL nothing listens on: bind a port, then release it. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

async function getText(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text() };
}

function starsOn(html: string): { stars: string; color: string }[] {
  return [...html.matchAll(/class="stars" data-stars="(\d)" data-color="([^"]*)"/g)].map((m) => ({
    stars: m[1] ?? '',
    color: m[2] ?? '',
  }));
}

const SAMPLE_DETAILS = { id: 0, type: 'paperback', pages: 200, publisher: 'PublisherA', language: 'English' };

describe('bookinfo', () => {
  let ratings: LocalPod;
  let details: LocalPod;
  const reviews: Record<string, LocalPod> = {};
  const productpage: Record<string, LocalPod> = {};

  before(async () => {
    [ratings, details] = await Promise.all([pod('ratings'), pod('details')]);
    const versions = { v1: { ENABLE_RATINGS: 'false' }, v2: { STAR_COLOR: 'black' }, v3: { STAR_COLOR: 'red' } };
    await Promise.all(
      Object.entries(versions).map(async ([v, env]) => {
        reviews[v] = await pod('reviews', { SERVICE_VERSION: v, POD_NAME: `reviews-${v}-7f9c`, RATINGS_URL: ratings.url, ...env });
        productpage[v] = await pod('productpage', { DETAILS_URL: details.url, REVIEWS_URL: reviews[v]!.url });
      }),
    );
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.stop()));
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  test('details and ratings answer like Istio, and report health', async () => {
    const cases: [string, number, unknown][] = [
      [`${details.url}/details/0`, 200, {
        id: 0, author: 'William Shakespeare', year: 1595, type: 'paperback', pages: 200, publisher: 'PublisherA',
        language: 'English', 'ISBN-10': '1234567890', 'ISBN-13': '123-1234567890',
      }],
      [`${details.url}/details/abc`, 400, { error: 'please provide numeric product id' }],
      [`${details.url}/health`, 200, { status: 'Details is healthy' }],
      [`${ratings.url}/ratings/7`, 200, { id: 7, ratings: { Reviewer1: 5, Reviewer2: 4 } }],
      [`${ratings.url}/ratings/x`, 400, { error: 'please provide numeric product ID' }],
      [`${ratings.url}/health`, 200, { status: 'Ratings is healthy' }],
    ];
    for (const [url, status, body] of cases) {
      assert.deepEqual(await getJson(url), { status, body }, url);
    }
  });

  test('reviews: v1 has no ratings, v2 black stars, v3 red stars', async () => {
    const expected: Record<string, unknown[]> = {
      v1: [undefined, undefined],
      v2: [{ stars: 5, color: 'black' }, { stars: 4, color: 'black' }],
      v3: [{ stars: 5, color: 'red' }, { stars: 4, color: 'red' }],
    };
    for (const [v, ratingsWanted] of Object.entries(expected)) {
      const { status, body } = await getJson(`${reviews[v]!.url}/reviews/0`);
      assert.equal(status, 200);
      const answer = body as { id: string; podname: string; reviews: { reviewer: string; rating?: unknown }[] };
      assert.equal(answer.id, '0');
      assert.equal(answer.podname, `reviews-${v}-7f9c`);
      assert.deepEqual(answer.reviews.map((r) => r.reviewer), ['Reviewer1', 'Reviewer2']);
      assert.deepEqual(answer.reviews.map((r) => r.rating), ratingsWanted, v);
    }
  });

  test('reviews v2 still answers when ratings is down, with the unavailable text', async () => {
    const lonely = await pod('reviews', { SERVICE_VERSION: 'v2', RATINGS_URL: await deadUrl() });
    const { status, body } = await getJson(`${lonely.url}/reviews/0`);
    assert.equal(status, 200);
    const ratingsSeen = (body as { reviews: { rating: unknown }[] }).reviews.map((r) => r.rating);
    assert.deepEqual(ratingsSeen, [
      { error: 'Ratings service is currently unavailable' },
      { error: 'Ratings service is currently unavailable' },
    ]);
  });

  test('productpage renders the stars of the version that answered', async () => {
    const expected: Record<string, { stars: string; color: string }[]> = {
      v1: [],
      v2: [{ stars: '5', color: 'black' }, { stars: '4', color: 'black' }],
      v3: [{ stars: '5', color: 'red' }, { stars: '4', color: 'red' }],
    };
    for (const [v, stars] of Object.entries(expected)) {
      const { status, body } = await getText(`${productpage[v]!.url}/productpage`);
      assert.equal(status, 200);
      assert.deepEqual(starsOn(body), stars, v);
      assert.match(body, new RegExp(`Reviews served by:</dt><dd>reviews-${v}-7f9c<`));
      assert.match(body, /<dd>PublisherA<\/dd>/);
      assert.match(body, /The Comedy of Errors/);
      assert.match(body, />Sign in</);
    }
  });

  test('login sets the session; end-user and trace headers reach details and, through reviews, ratings', async () => {
    const upstream = await recorder({ '/details/0': SAMPLE_DETAILS, '/ratings/0': { id: 0, ratings: { Reviewer1: 1, Reviewer2: 2 } } });
    const reviewsV2 = await pod('reviews', { SERVICE_VERSION: 'v2', RATINGS_URL: upstream.url });
    const front = await pod('productpage', { DETAILS_URL: upstream.url, REVIEWS_URL: reviewsV2.url });

    const login = await fetch(`${front.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=jason&passwd=x',
      redirect: 'manual',
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), '/productpage');
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.equal(cookie, 'session=jason');

    const trace = {
      'x-request-id': 'req-42',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
      'x-datadog-trace-id': '1234',
      'x-unrelated': 'stays home',
    };
    const page = await getText(`${front.url}/productpage`, { headers: { cookie, ...trace } });
    assert.equal(page.status, 200);
    assert.match(page.body, /<span class="user">jason<\/span>/);
    assert.match(page.body, />Sign out</);
    assert.deepEqual(starsOn(page.body), [{ stars: '1', color: 'black' }, { stars: '2', color: 'black' }]);

    const byPath = (path: string) => upstream.seen.find((r) => r.url === path)?.headers;
    for (const path of ['/details/0', '/ratings/0']) {
      const seen = byPath(path);
      assert.ok(seen, `${path} was called`);
      assert.equal(seen['end-user'], 'jason', path);
      assert.equal(seen['x-request-id'], 'req-42', path);
      assert.equal(seen.traceparent, trace.traceparent, path);
      assert.equal(seen['x-b3-traceid'], trace['x-b3-traceid'], path);
      assert.equal(seen['x-datadog-trace-id'], '1234', path);
      assert.equal(seen['x-unrelated'], undefined, path);
    }

    const logout = await fetch(`${front.url}/logout`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(logout.status, 302);
    assert.match(logout.headers.get('set-cookie') ?? '', /^session=;.*Max-Age=0/);
  });

  test('productpage does not trust an end-user header sent by the client', async () => {
    const upstream = await recorder({ '/details/0': SAMPLE_DETAILS, '/reviews/0': { podname: 'r', reviews: [] } });
    const front = await pod('productpage', { DETAILS_URL: upstream.url, REVIEWS_URL: upstream.url });
    await getText(`${front.url}/productpage`, { headers: { 'end-user': 'admin' } });
    assert.ok(upstream.seen.length >= 2);
    for (const r of upstream.seen) assert.equal(r.headers['end-user'], undefined);
  });

  test('productpage shows Istio error texts when details and reviews are down', async () => {
    const dead = await deadUrl();
    const front = await pod('productpage', { DETAILS_URL: dead, REVIEWS_URL: dead, RATINGS_URL: dead });
    const page = await getText(`${front.url}/productpage`);
    assert.equal(page.status, 200);
    assert.match(page.body, /Sorry, product reviews are currently unavailable for this book\./);
    assert.match(page.body, /Sorry, product details are currently unavailable for this book\./);

    const api: [string, string][] = [
      ['/api/v1/products/0', 'Sorry, product details are currently unavailable for this book.'],
      ['/api/v1/products/0/reviews', 'Sorry, product reviews are currently unavailable for this book.'],
      ['/api/v1/products/0/ratings', 'Sorry, product ratings are currently unavailable for this book.'],
    ];
    for (const [path, error] of api) {
      assert.deepEqual(await getJson(`${front.url}${path}`), { status: 500, body: { error } }, path);
    }
  });

  test('productpage API, index, health and stylesheet', async () => {
    const front = productpage.v3!;
    const list = await getJson(`${front.url}/api/v1/products`);
    assert.equal(list.status, 200);
    assert.deepEqual((list.body as { id: number; title: string }[]).map((p) => [p.id, p.title]), [[0, 'The Comedy of Errors']]);
    const one = await getJson(`${front.url}/api/v1/products/0`);
    assert.equal((one.body as { author: string }).author, 'William Shakespeare');
    const ratingsApi = await getJson(`${front.url}/api/v1/products/0/reviews`);
    assert.equal((ratingsApi.body as { podname: string }).podname, 'reviews-v3-7f9c');
    assert.equal((await getText(`${front.url}/health`)).body, 'Product page is healthy');
    assert.match((await getText(`${front.url}/`)).body, /href="\/productpage\?u=normal"/);
    const css = await fetch(`${front.url}/static/css/bookinfo.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.equal((await fetch(`${front.url}/static/missing.css`)).status, 404);
  });

  test('through http_proxy, calls go to the sidecar in absolute form by service name, and the page escapes them', async () => {
    const sidecar = await recorder({
      '/details/0': { ...SAMPLE_DETAILS, publisher: '<script>alert(1)</script>' },
      '/reviews/0': {
        podname: '<b>pod</b>',
        reviews: [{ reviewer: '"><img src=x>', text: 'fine & dandy', rating: { stars: 3, color: 'red;background:url(x)' } }],
      },
    });
    const front = await pod('productpage', { http_proxy: sidecar.url });
    const page = await getText(`${front.url}/productpage`);
    assert.deepEqual(
      sidecar.seen.map((r) => r.url).sort(),
      ['http://details:9080/details/0', 'http://reviews:9080/reviews/0'],
    );
    assert.ok(!page.body.includes('<script>alert'));
    assert.ok(!page.body.includes('<img'));
    assert.ok(!page.body.includes('<b>pod'));
    assert.match(page.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(page.body, /fine &amp; dandy/);
    assert.deepEqual(starsOn(page.body), [{ stars: '3', color: 'black' }]);
  });

  test('login refuses an oversized form', async () => {
    const res = await fetch(`${productpage.v1!.url}/login`, { method: 'POST', body: 'username=' + 'a'.repeat(64 * 1024) });
    assert.equal(res.status, 413);
  });

  test('every app exits 0 on SIGTERM', async () => {
    for (const name of ['details', 'ratings', 'reviews', 'productpage']) {
      const running = await startLocalPod(app(name), {});
      assert.deepEqual(await running.stop(), { code: 0, signal: null }, name);
    }
  });
});
