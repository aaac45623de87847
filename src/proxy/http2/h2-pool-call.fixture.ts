/** Test fixture: one stream through an HTTP/2 endpoint pool: granted a session, a GET, the answer read, the stream released. */
import type { H2EndpointPool, PooledSession } from './h2-session-pool.js';

export function callThroughPool(pool: H2EndpointPool): Promise<PooledSession> {
  return new Promise((resolve, reject) => {
    pool.acquire({
      cancelled: false,
      failed: reject,
      granted(s) {
        const req = s.session!.request({ ':path': '/' });
        req.resume();
        req.on('error', reject);
        req.on('close', () => {
          s.release();
          resolve(s);
        });
        req.end();
      },
    });
  });
}
