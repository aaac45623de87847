/**
 * In-process gRPC bench: a real gRPC client and server through the client sidecar's outbound listener and the server
 * sidecar's inbound listener (src/proxy/http2/grpc-messages.fixture.ts), both reporting Istio's metrics. Measures
 * the process's CPU time (user + system) per unary call and per bidi message (64 B payloads, 256 in flight): client,
 * both sidecars and the app all run in this process, so that is what a call costs them together (wall time, which
 * waits on the loopback, is printed beside it). With the path of another build's
 * fixture (an earlier commit's dist), both meshes run in this process and are measured round by round, alternated,
 * so machine load falls on both alike: the figure to read is the ratio.
 *
 *   node dist/bench/grpc-messages-inprocess.js [path/to/other/dist/src/proxy/http2/grpc-messages.fixture.js]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as fixture from '../src/proxy/http2/grpc-messages.fixture.js';
import type { MessagesClient, MessagesMesh } from '../src/proxy/http2/grpc-messages.fixture.js';

type Fixture = Pick<typeof fixture, 'startMessagesMesh' | 'messagesClient'>;

const UNARY_CALLS = 500;
const BIDI_MESSAGES = 5_000;
const IN_FLIGHT = 256;
const ROUNDS = 5;

interface Cost {
  cpuUs: number;
  wallUs: number;
}

/** CPU and wall microseconds per unit since `start`. */
function costSince(start: { cpu: NodeJS.CpuUsage; wall: bigint }, units: number): Cost {
  const cpu = process.cpuUsage(start.cpu);
  return { cpuUs: (cpu.user + cpu.system) / units, wallUs: Number(process.hrtime.bigint() - start.wall) / 1000 / units };
}
const mark = (): { cpu: NodeJS.CpuUsage; wall: bigint } => ({ cpu: process.cpuUsage(), wall: process.hrtime.bigint() });
const PAYLOAD = Buffer.alloc(64, 0x61);

function unaryRound(client: MessagesClient): Promise<Cost> {
  const start = mark();
  return new Promise((resolve, reject) => {
    let done = 0;
    const next = (): void => {
      if (done === UNARY_CALLS) return resolve(costSince(start, UNARY_CALLS));
      client.unary(PAYLOAD, (err) => {
        if (err) return reject(err);
        done++;
        next();
      });
    };
    next();
  });
}

function bidiRound(client: MessagesClient): Promise<Cost> {
  const start = mark();
  return new Promise((resolve, reject) => {
    const call = client.chat();
    let sent = 0;
    let received = 0;
    const fill = (): void => {
      while (sent < BIDI_MESSAGES && sent - received < IN_FLIGHT) {
        call.write(PAYLOAD);
        sent++;
      }
      if (sent === BIDI_MESSAGES) call.end();
    };
    call.on('data', () => {
      received++;
      if (sent < BIDI_MESSAGES) fill();
    });
    call.on('error', reject);
    call.on('end', () => resolve(costSince(start, BIDI_MESSAGES)));
    fill();
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Run {
  version: string;
  mesh: MessagesMesh;
  client: MessagesClient;
  unary: Cost[];
  bidi: Cost[];
}

const builds: [string, Fixture][] = [['current', fixture]];
const other = process.argv[2];
if (other !== undefined) builds.unshift(['other', (await import(pathToFileURL(path.resolve(other)).href)) as Fixture]);

const runs: Run[] = [];
for (const [version, f] of builds) {
  const mesh = await f.startMessagesMesh();
  runs.push({ version, mesh, client: f.messagesClient(mesh.outboundPort), unary: [], bidi: [] });
}
try {
  // One warm-up round each, then alternate.
  for (const r of runs) {
    await unaryRound(r.client);
    await bidiRound(r.client);
  }
  for (let i = 0; i < ROUNDS; i++) {
    for (const r of runs) {
      r.unary.push(await unaryRound(r.client));
      r.bidi.push(await bidiRound(r.client));
    }
  }
  for (const r of runs) {
    const m = (xs: Cost[], k: keyof Cost, digits: number): number => Number(median(xs.map((x) => x[k])).toFixed(digits));
    const line = {
      version: r.version,
      cpuUsPerUnaryCall: m(r.unary, 'cpuUs', 1),
      cpuUsPerBidiMessage: m(r.bidi, 'cpuUs', 2),
      wallUsPerUnaryCall: m(r.unary, 'wallUs', 1),
      wallUsPerBidiMessage: m(r.bidi, 'wallUs', 2),
      rounds: ROUNDS,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
} finally {
  for (const r of runs) {
    r.client.close();
    await r.mesh.close();
  }
}
