/** RESULTS.md from one run's figures: machine, commands, raw figures, ratios against the baselines. */
import type { MachineInfo } from './machine.js';
import type { DataPlaneResults, PathFigures } from './data-plane.js';
import type { BookinfoUp, CsrRate } from './control-plane.js';
import type { ScaleResult } from './scale-run.js';
import type { H2GrpcResults } from './h2-grpc.js';
import { renderH2Grpc } from './h2-grpc-report.js';

export interface BenchResults {
  machine: MachineInfo;
  mode: 'full' | 'smoke';
  command: string;
  loadAverage: number[];
  loadAverageEnd: number[];
  settings: Record<string, number | string>;
  dataPlane: DataPlaneResults | { error: string };
  /** Absent in runs from before the scenario existed. */
  h2grpc?: H2GrpcResults | { error: string };
  csr: CsrRate | { error: string };
  bookinfo: BookinfoUp | { error: string };
  /** One run per number of proxies. */
  scale: (ScaleResult | { error: string })[];
}

const f = (n: number | undefined, digits = 2): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));
const int = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : Math.round(n).toLocaleString('en-US'));

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function http2Cell(p: PathFigures): string {
  return 'unsupported' in p.http2 ? 'not supported' : int(p.http2.rps);
}

function dataPlaneSection(d: DataPlaneResults): string {
  const by = (n: string): PathFigures | undefined => d.paths.find((p) => p.name === n);
  const direct = by('direct');
  const nginx = by('nginx');
  const weft = by('weft');
  const out: string[] = ['## Data plane', '', `Upstream: ${d.upstream}`, '', `Pinning: ${d.pinning}`, ''];
  out.push('### Maximum throughput (closed loop)', '');
  out.push(
    table(
      ['path', 'HTTP/1.1 rps (wrk)', 'errors', 'wrk P50 / P99 ms', 'HTTP/2 rps (h2load)', '× direct (HTTP/1.1)', '× nginx pair (HTTP/1.1)'],
      d.paths.map((p) => [
        p.name,
        int(p.http1.rps),
        String(p.http1.errors + ('unsupported' in p.http2 ? 0 : p.http2.errors)),
        p.http1.latencyMs ? `${f(p.http1.latencyMs.p50)} / ${f(p.http1.latencyMs.p99)}` : 'n/a',
        http2Cell(p),
        direct ? f(p.http1.rps / direct.http1.rps, 3) : 'n/a',
        nginx ? f(p.http1.rps / nginx.http1.rps, 3) : 'n/a',
      ]),
    ),
  );
  const unsupported = d.paths.filter((p) => 'unsupported' in p.http2).map((p) => `${p.name}: ${'unsupported' in p.http2 ? p.http2.unsupported : ''}`);
  if (unsupported.length > 0) out.push('', `HTTP/2: ${unsupported.join('; ')}. The nginx pair takes h2c from the client and speaks HTTP/1.1 over mTLS between its sidecars (its proxy module speaks only HTTP/1.1 upstream; the pair with HTTP/2 between its sidecars is in the HTTP/2 and gRPC section).`);
  out.push('', '### Latency at a fixed offered rate (open loop)', '');
  const rate = direct?.latency.rate ?? weft?.latency.rate ?? 0;
  out.push(
    table(
      ['path', 'offered rps', 'achieved rps', 'errors', 'P50 ms', 'P90 ms', 'P99 ms', 'P99.9 ms', 'max ms'],
      d.paths.map((p) => [
        p.name,
        int(p.latency.rate),
        int(p.latency.achievedRps),
        String(p.latency.errors),
        f(p.latency.latencyMs.p50, 3),
        f(p.latency.latencyMs.p90, 3),
        f(p.latency.latencyMs.p99, 3),
        f(p.latency.latencyMs.p999, 3),
        f(p.latency.latencyMs.max, 3),
      ]),
    ),
  );
  if (direct) {
    out.push('', `Added over direct at ${rate} rps (ms):`, '');
    out.push(
      table(
        ['path', 'P50', 'P90', 'P99', 'P99.9'],
        d.paths
          .filter((p) => p.name !== 'direct')
          .map((p) => [
            p.name,
            f(p.latency.latencyMs.p50 - direct.latency.latencyMs.p50, 3),
            f(p.latency.latencyMs.p90 - direct.latency.latencyMs.p90, 3),
            f(p.latency.latencyMs.p99 - direct.latency.latencyMs.p99, 3),
            f(p.latency.latencyMs.p999 - direct.latency.latencyMs.p999, 3),
          ]),
      ),
    );
  }
  out.push('', '### CPU and memory per sidecar', '');
  out.push(
    table(
      ['path', 'sidecar', 'CPU s / 1000 req at max', `CPU s / 1000 req at ${rate} rps (= vCPU per 1000 rps)`, 'RSS idle MiB', 'RSS peak under load MiB'],
      d.paths.flatMap((p) => p.sidecars.map((s) => [p.name, s.role, f(s.cpuPer1000AtMax, 4), f(s.cpuPer1000AtRate, 4), f(s.rssIdleMiB, 1), f(s.rssLoadMiB, 1)])),
    ),
  );
  if (weft && nginx) {
    const sum = (p: PathFigures, pick: (s: PathFigures['sidecars'][number]) => number): number => p.sidecars.reduce((a, s) => a + pick(s), 0);
    const ratio = (pick: (s: PathFigures['sidecars'][number]) => number): string => f(sum(weft, pick) / sum(nginx, pick), 1);
    out.push(
      '',
      `weft pair / nginx pair (both sidecars added): CPU per request at max ${ratio((s) => s.cpuPer1000AtMax)}×, at ${rate} rps ${ratio((s) => s.cpuPer1000AtRate)}×; RSS under load ${ratio((s) => s.rssLoadMiB)}×.`,
    );
  }
  out.push('', '### Commands (as run)', '', '```');
  for (const p of d.paths) {
    out.push(p.http1.command);
    if (!('unsupported' in p.http2)) out.push(p.http2.command);
  }
  out.push('```');
  if (d.profileError !== undefined) out.push('', `No CPU profile: ${d.profileError}.`);
  if (d.profiles.length > 0) {
    out.push('', '### CPU profile of the weft sidecars under max load (top self time)', '');
    for (const pr of d.profiles) {
      out.push(`${pr.role} sidecar, ${pr.seconds} s of wrk at ${int(pr.rps)} rps (percent of the profile's busy samples):`, '');
      out.push(table(['self ms', '%', 'function', 'where'], pr.top.map((r) => [f(r.selfMs, 0), f(r.percent, 1), `\`${r.function}\``, r.where === '' ? '(native / VM)' : `\`${r.where}\``])));
      out.push('');
    }
  }
  return out.join('\n');
}

function controlSection(r: BenchResults): string {
  const out: string[] = ['## Control plane', ''];
  if ('error' in r.csr) out.push(`CSR signing: failed: ${r.csr.error}`);
  else out.push(`CSR signing (CA in-process, one thread, P-256 CSRs made beforehand): ${int(r.csr.csrs)} CSRs in ${f(r.csr.seconds, 3)} s = **${int(r.csr.perSecond)} CSRs/s**.`);
  out.push('');
  if ('error' in r.bookinfo) out.push(`\`weft up examples/bookinfo\`: failed: ${r.bookinfo.error}`);
  else out.push(`\`weft up examples/bookinfo\`: "mesh is up" after ${f(r.bookinfo.meshUpMs / 1000, 2)} s; first 200 from /productpage through the ingress gateway after **${f(r.bookinfo.firstProductPageMs / 1000, 2)} s** (polled every 50 ms from the spawn).`);
  out.push('');
  const runs = r.scale.filter((s): s is ScaleResult => !('error' in s));
  for (const s of r.scale) if ('error' in s) out.push(`Scale run failed: ${s.error}`, '');
  const first = runs[0];
  if (first) {
    out.push(`Scale: ${int(first.services)} Services and ${int(first.workloads)} Workloads (each with Running status and a pod IP, so every Service has endpoints) applied through the API; then N simulated proxies (real \`ControlConnection\`s, each with its own SVID from a bootstrap token and its own mTLS HTTP/2 push stream, up to 500 per process) connect; then one Service gains a port (in every proxy's config, so every proxy must update).`);
    out.push('');
    out.push(
      table(
        ['proxies', 'apply s', 'connected + in sync', 'connect s', 'ACKed the change', 'P50 ms', 'P99 ms', 'max ms', 'control plane RSS idle / peak MiB'],
        runs.map((s) => [int(s.proxies), f(s.applySeconds, 1), int(s.connected), f(s.connectSeconds, 1), int(s.acked), f(s.ackMs?.p50, 0), f(s.ackMs?.p99, 0), f(s.ackMs?.max, 0), `${f(s.controlRssIdleMiB, 0)} / ${f(s.controlRssPeakMiB, 0)}`]),
      ),
    );
    out.push('', `ACK time: from the apply request to the first \`GET /api/v1/proxies\` poll (every ${first.pollIntervalMs} ms plus the poll's own time) showing the proxy's \`ackedVersion\` changed and equal to \`sentVersion\`.`);
    for (const s of runs) if (s.failure) out.push('', `**Where it broke (${int(s.proxies)} proxies):** ${s.failure}`);
    const profiled = runs[runs.length - 1];
    if (profiled && profiled.profile.length > 0) {
      out.push('', `Control plane CPU profile while ${int(profiled.proxies)} proxies connected (top self time):`, '');
      out.push(table(['self ms', '%', 'function', 'where'], profiled.profile.map((p) => [f(p.selfMs, 0), f(p.percent, 1), `\`${p.function}\``, p.where === '' ? '(native / VM)' : `\`${p.where}\``])));
    }
  }
  return out.join('\n');
}

/** `h2Notes` (bench/h2-grpc-limits.md) goes under the HTTP/2 and gRPC section, `notes` at the end. */
export function renderResults(r: BenchResults, notes: string, h2Notes = ''): string {
  const m = r.machine;
  const head = [
    '# weft benchmark results',
    '',
    `Run: ${m.date} (${r.mode}), \`${r.command}\`, at revision ${m.revision ?? 'unknown'}.`,
    '',
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB memory, Linux ${m.kernel}, Node ${m.node}; ${m.tools['wrk']}; ${m.tools['h2load']}; ${m.tools['nginx']}. Load average (1/5/15 min) at start ${r.loadAverage.map((x) => x.toFixed(2)).join(' ')}, at end ${r.loadAverageEnd.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    `Settings: ${Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(', ')}.`,
    '',
  ].join('\n');
  const dp = 'error' in r.dataPlane ? `## Data plane\n\nFailed: ${r.dataPlane.error}` : dataPlaneSection(r.dataPlane);
  const h2 = r.h2grpc === undefined ? '' : 'error' in r.h2grpc ? `## HTTP/2 and gRPC through the sidecars\n\nFailed: ${r.h2grpc.error}\n\n` : `${renderH2Grpc(r.h2grpc)}${h2Notes === '' ? '' : `\n\n${h2Notes}`}\n\n`;
  return `${head}\n${dp}\n\n${h2}${controlSection(r)}\n${notes === '' ? '' : `\n${notes}\n`}`;
}
