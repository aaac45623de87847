/**
 * Istio's tcp-echo sample: an opaque TCP server that answers each line with the line prefixed (default "hello").
 * It binds POD_IP on PORT (default 9000) and exits 0 on SIGTERM.
 */
import net from 'node:net';
import readline from 'node:readline';

const host = process.env['POD_IP'] || '127.0.0.1';
const port = Number(process.env['PORT'] ?? 9000);
const prefix = process.env['PREFIX'] ?? 'hello';

const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  const lines = readline.createInterface({ input: socket });
  lines.on('line', (line) => socket.write(`${prefix} ${line}\n`));
});
server.listen(port, host, () => process.stdout.write(`tcp-echo listening on ${host}:${port}\n`));

const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
