/**
 * The stand-in for nginx in Istio's ingress-sni-passthrough task: an HTTPS server that terminates TLS itself with
 * its own certificate (TLS_CERT_FILE, TLS_KEY_FILE), so the gateway must pass the connection through untouched.
 * It binds POD_IP on PORT (default 443 inside a pod's own address; the Workload sets 8443) and exits 0 on SIGTERM.
 */
import fs from 'node:fs';
import https from 'node:https';

const host = process.env['POD_IP'] || '127.0.0.1';
const port = Number(process.env['PORT'] ?? 8443);
const server = https.createServer(
  { cert: fs.readFileSync(process.env['TLS_CERT_FILE'] ?? 'nginx.example.com.crt'), key: fs.readFileSync(process.env['TLS_KEY_FILE'] ?? 'nginx.example.com.key') },
  (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`Welcome to my-nginx: TLS terminated by the app for ${req.headers.host ?? ''}\n`);
  },
);
server.listen(port, host, () => process.stdout.write(`my-nginx listening on https://${host}:${port}\n`));

const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
