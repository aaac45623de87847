/** The "HTTP/2 and gRPC" section of RESULTS.md from one run of h2-grpc.ts. */
import type { MachineInfo } from './machine.js';
import type { GrpcPathFigures, H2GrpcResults, H2PathName, MeasuredRun } from './h2-grpc.js';

/** Where the section stands alone (h2-grpc-main.ts): the run it comes from. */
export interface H2GrpcRunHeader {
  machine: MachineInfo;
  command: string;
  loadAverage: number[];
  loadAverageEnd: number[];
  settings: Record<string, number | string>;
}

const HEADING = '## HTTP/2 and gRPC through the sidecars';

const f = (n: number | undefined, digits = 2): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));
const int = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : Math.round(n).toLocaleString('en-US'));
const loads = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Both sidecars' CPU seconds per 1000 requests added; undefined for the direct path. */
export function pairCpuPer1000(m: MeasuredRun): number | undefined {
  return m.sidecars.length === 0 ? undefined : m.sidecars.reduce((a, s) => a + s.cpuPer1000, 0);
}

function cpuCells(m: MeasuredRun): string[] {
  const role = (r: 'client' | 'server'): string => f(m.sidecars.find((s) => s.role === r)?.cpuPer1000, 4);
  return m.sidecars.length === 0 ? ['-', '-', '-'] : [role('client'), role('server'), f(pairCpuPer1000(m), 4)];
}

function latencyCell(m: MeasuredRun): string {
  const l = m.run.latencyMs;
  return l ? `${f(l.p50)} / ${f(l.p99)}` : 'n/a';
}

function ratio<T extends { name: H2PathName }>(rows: T[], value: (r: T) => number): string {
  const weft = rows.find((r) => r.name === 'weft');
  const nginx = rows.find((r) => r.name === 'nginx');
  return weft && nginx ? f(value(weft) / value(nginx), 3) : 'n/a';
}

function grpcAdded(rows: GrpcPathFigures[]): string[][] {
  const direct = rows.find((r) => r.name === 'direct')?.fixed.run.latencyMs;
  return rows
    .filter((r) => r.name !== 'direct')
    .map((r) => {
      const l = r.fixed.run.latencyMs;
      return [r.name, f(l && direct ? l.p50 - direct.p50 : undefined, 3), f(l && direct ? l.p99 - direct.p99 : undefined, 3)];
    });
}

export function renderH2Grpc(r: H2GrpcResults, header?: H2GrpcRunHeader): string {
  const out: string[] = [HEADING, ''];
  if (header) {
    const m = header.machine;
    out.push(
      `Run: ${m.date}, \`${header.command}\`, at revision ${m.revision}. Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; ${m.tools['h2load']}; ${m.tools['nginx']}. Load average (1/5/15 min) at start ${loads(header.loadAverage)}, at end ${loads(header.loadAverageEnd)}.`,
      '',
      `Settings: ${Object.entries(header.settings).map(([k, v]) => `${k}=${v}`).join(', ')}.`,
      '',
    );
  }
  out.push(
    'Paths, in this order, back to back in one run: **direct** (h2load → the upstream over h2c); **weft** (h2load → the client sidecar\'s outbound listener over h2c with prior knowledge, `:authority` naming the service → HTTP/2 over mTLS, streams multiplexed on pooled sessions → the server sidecar → the upstream over h2c); **nginx** (h2load → nginx client sidecar over h2c → `grpc_pass grpcs://`, HTTP/2 over mTLS with the mesh\'s SVIDs → nginx server sidecar verifying the client → `grpc_pass grpc://` → the upstream over h2c). nginx\'s upstream HTTP/2 does not multiplex: each request in flight holds its own kept-alive upstream connection.',
    '',
    `Pinning: ${r.pinning}`,
    '',
    '### HTTP/2 (h2load, closed loop)',
    '',
    `Upstream: ${r.http2Upstream}`,
    '',
  );
  out.push(
    table(
      ['path', 'rps', 'errors', 'P50 / P99 ms', 'CPU s / 1000 req, client / server / pair', '× direct', 'weft / nginx'],
      r.http2.map((p) => {
        const direct = r.http2.find((d) => d.name === 'direct');
        return [p.name, int(p.max.run.rps), String(p.max.run.errors), latencyCell(p.max), cpuCells(p.max).join(' / '), direct ? f(p.max.run.rps / direct.max.run.rps, 3) : 'n/a', p.name === 'weft' ? ratio(r.http2, (x) => x.max.run.rps) : ''];
      }),
    ),
  );
  out.push('', '### gRPC unary calls', '', `Upstream: ${r.grpcUpstream} Each call is one ${r.messageBytes}-byte length-prefixed EchoRequest (h2load \`-d\`, \`content-type: application/grpc\`, \`te: trailers\`); before the load one call by hand on each path answered HTTP 200 with grpc-status 0.`, '');
  out.push(
    table(
      ['path', 'calls/s, closed loop', 'errors', 'P50 / P99 ms', 'CPU s / 1000 calls, client / server / pair', 'weft / nginx'],
      r.grpc.map((p) => [p.name, int(p.max.run.rps), String(p.max.run.errors), latencyCell(p.max), cpuCells(p.max).join(' / '), p.name === 'weft' ? ratio(r.grpc, (x) => x.max.run.rps) : '']),
    ),
  );
  out.push('', `At a fixed offered rate of ${int(r.grpcRate)} calls/s (h2load \`--rps\` per client; latency from each call's start as h2load sent it):`, '');
  out.push(
    table(
      ['path', 'achieved calls/s', 'errors', 'P50 ms', 'P99 ms', 'CPU s / 1000 calls, client / server / pair'],
      r.grpc.map((p) => [p.name, int(p.fixed.run.rps), String(p.fixed.run.errors), f(p.fixed.run.latencyMs?.p50, 3), f(p.fixed.run.latencyMs?.p99, 3), cpuCells(p.fixed).join(' / ')]),
    ),
  );
  const saturated = r.grpc.filter((p) => p.fixed.run.rps < 0.95 * r.grpcRate).map((p) => p.name);
  if (saturated.length > 0) out.push('', `Saturated at this rate (achieved under 95% of offered): ${saturated.join(', ')}; there the latency is queueing behind h2load's streams, not the path's cost.`);
  out.push('', `Added over direct at ${int(r.grpcRate)} calls/s (ms):`, '', table(['path', 'P50', 'P99'], grpcAdded(r.grpc)));
  const weft = r.grpc.find((p) => p.name === 'weft');
  const nginx = r.grpc.find((p) => p.name === 'nginx');
  if (weft && nginx) {
    out.push('', `weft pair / nginx pair, CPU per call (both sidecars added): ${f((pairCpuPer1000(weft.max) ?? NaN) / (pairCpuPer1000(nginx.max) ?? NaN), 1)}× at max, ${f((pairCpuPer1000(weft.fixed) ?? NaN) / (pairCpuPer1000(nginx.fixed) ?? NaN), 1)}× at ${int(r.grpcRate)} calls/s.`);
  }
  out.push('', '### Commands (as run)', '', '```');
  for (const p of r.http2) out.push(p.max.run.command);
  for (const p of r.grpc) out.push(p.max.run.command, p.fixed.run.command);
  out.push('```');
  if (r.profileError !== undefined) out.push('', `No CPU profile: ${r.profileError}.`);
  for (const pr of r.profiles) {
    out.push('', `weft ${pr.role} sidecar, ${pr.seconds} s of closed-loop gRPC calls at ${int(pr.rps)} calls/s (top self time, percent of the busy samples):`, '');
    out.push(table(['self ms', '%', 'function', 'where'], pr.top.map((t) => [f(t.selfMs, 0), f(t.percent, 1), `\`${t.function}\``, t.where === '' ? '(native / VM)' : `\`${t.where}\``])));
  }
  return out.join('\n');
}

/** `text` with the section under HEADING (up to the next `## `) replaced by `section`, or `section` appended. */
export function replaceSection(text: string, section: string): string {
  const start = text.indexOf(`\n${HEADING}\n`);
  if (start < 0) return `${text.replace(/\n*$/, '\n')}\n${section}\n`;
  const next = text.indexOf('\n## ', start + HEADING.length + 2);
  return `${text.slice(0, start + 1)}${section}\n${next < 0 ? '' : text.slice(next)}`;
}
