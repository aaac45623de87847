/**
 * A line client for tcp-echo, shipped so the example needs nothing the machine may lack (nc, telnet):
 *   node dist/examples/tcp-echo/tcp-echo-client.js HOST:PORT LINE...
 * sends each LINE, prints each line that comes back, and exits 0 once every line is answered (1 on a refusal, a
 * closed connection or 10 s of silence). With `http_proxy` set, as `weft exec` sets it on loopback, it reaches
 * HOST:PORT through that proxy (the sidecar) with HTTP CONNECT; without it, it dials directly, as an app in a
 * netns pod does, its connection captured by the sidecar.
 */
import net from 'node:net';

const [target, ...lines] = process.argv.slice(2);
const TIMEOUT_MS = 10_000;

function fail(message: string): never {
  process.stderr.write(`tcp-echo-client: ${message}\n`);
  process.exit(1);
}

if (target === undefined || lines.length === 0 || !/^[^\s:]+:\d+$/.test(target)) fail('usage: tcp-echo-client HOST:PORT LINE...');
const proxy = process.env['http_proxy'] || process.env['HTTP_PROXY'];
const colon = target.lastIndexOf(':');
const via = proxy ? new URL(proxy) : undefined;
const socket = via
  ? net.connect({ host: via.hostname, port: Number(via.port || 80) })
  : net.connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });

setTimeout(() => fail(`no answer from ${target} in ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS).unref();
socket.on('error', (err) => fail(`${target}: ${err.message}`));

let buffered = '';
let tunnelled = via === undefined;
let answered = 0;

const send = (): void => void socket.write(lines.map((l) => `${l}\n`).join(''));

socket.on('connect', () => (via ? socket.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`) : send()));
socket.on('data', (chunk: Buffer) => {
  buffered += chunk.toString('utf8');
  if (!tunnelled) {
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const status = buffered.slice(0, buffered.indexOf('\r\n'));
    if (!/^HTTP\/1\.[01] 200 /.test(status)) fail(`the proxy refused CONNECT ${target}: ${status}`);
    buffered = buffered.slice(end + 4);
    tunnelled = true;
    send();
  }
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    process.stdout.write(buffered.slice(0, nl + 1));
    buffered = buffered.slice(nl + 1);
    if (++answered === lines.length) {
      socket.end();
      process.exitCode = 0;
      return;
    }
  }
});
socket.on('close', () => {
  if (answered < lines.length) fail(`${target} closed the connection after ${answered} of ${lines.length} answers`);
});
