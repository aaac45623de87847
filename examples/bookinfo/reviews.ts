/**
 * bookinfo reviews: two reviews of the book, in three versions that differ only in configuration, as
 * Istio's: v1 without ratings, v2 with black stars, v3 with red stars (SERVICE_VERSION, ENABLE_RATINGS,
 * STAR_COLOR). Stars come from the ratings service; when it fails, the reviews still answer.
 */
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, servePod } from '../pod-server.js';
import { getJson, propagatedHeaders, serviceBaseUrl } from './service-call.js';

const version = process.env.SERVICE_VERSION || 'v1';
const ratingsEnabled = (process.env.ENABLE_RATINGS ?? (version === 'v1' ? 'false' : 'true')) === 'true';
const starColor = process.env.STAR_COLOR || 'black';
const ratingsUrl = serviceBaseUrl(process.env.RATINGS_URL, 'http://ratings:9080');
const podName = process.env.POD_NAME || hostname();
// Istio's reviews prints the unset CLUSTER_NAME as the literal "null"; keep the same answer.
const clusterName = process.env.CLUSTER_NAME ?? 'null';
// Istio's black-star version waits 10 s for ratings and the red one 2.5 s; the fault-injection tasks rely on it.
const ratingsTimeoutMs = starColor === 'black' ? 10_000 : 2_500;

const REVIEWS = [
  { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
  { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
] as const;

type Rating = { stars: number; color: string } | { error: string };

async function fetchStars(id: string, req: IncomingMessage): Promise<Map<string, number> | undefined> {
  try {
    const reply = await getJson(`${ratingsUrl}/ratings/${id}`, propagatedHeaders(req.headers), ratingsTimeoutMs);
    if (reply.status !== 200) {
      console.log(`reviews: ratings answered ${reply.status}`);
      return undefined;
    }
    const ratings = (reply.body as { ratings?: unknown } | null)?.ratings;
    const stars = new Map<string, number>();
    if (typeof ratings === 'object' && ratings !== null) {
      for (const [reviewer, value] of Object.entries(ratings)) {
        if (typeof value === 'number') stars.set(reviewer, value);
      }
    }
    return stars;
  } catch (err) {
    console.log(`reviews: cannot reach ratings: ${(err as Error).message}`);
    return undefined;
  }
}

function ratingFor(reviewer: string, stars: Map<string, number> | undefined): Rating {
  const count = stars?.get(reviewer);
  return count === undefined ? { error: 'Ratings service is currently unavailable' } : { stars: count, color: starColor };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://reviews').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
  if (path === '/health') return sendJson(res, 200, { status: 'Reviews is healthy' });
  const match = /^\/reviews\/(-?\d+)$/.exec(path);
  if (match === null) return sendJson(res, 404, { error: 'not found' });
  const id = String(Number(match[1]));

  const stars = ratingsEnabled ? await fetchStars(id, req) : undefined;
  sendJson(res, 200, {
    id,
    podname: podName,
    clustername: clusterName,
    reviews: REVIEWS.map((review) =>
      ratingsEnabled ? { ...review, rating: ratingFor(review.reviewer, stars) } : { ...review },
    ),
  });
}

await servePod(handle, { app: `reviews-${version}`, defaultPort: 9080 });
