/**
 * Test fixture: an app's HTTP CONNECT through the sidecar's outbound listener to an echo server behind it. Resolves
 * with the proxy's status and, once the tunnel is up, what came back for `data`.
 */
import http from 'node:http';

export function connectThrough(port: number, authority: string, data: string): Promise<{ status: number; echoed: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'CONNECT', path: authority, agent: false });
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, echoed: '' });
        return;
      }
      socket.write(data);
      socket.once('data', (d: Buffer) => {
        socket.destroy();
        resolve({ status: 200, echoed: d.toString() });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
