/** The faults scenario's section of RESULTS.md: per-phase request counts and latency, and what each fault did. */
import type { MachineInfo } from './machine.js';
import type { PhaseFigures } from './phased-load.js';
import type { AppRestartEvidence, ControlRestartEvidence, NackEvidence, RotationEvidence } from './mesh-faults.js';

export interface FaultRun {
  machine: MachineInfo;
  settings: { holdSeconds: number; rotationSeconds: number; rounds: number; workers: number };
  loadAverage: number[];
  loadAverageEnd: number[];
  phases: PhaseFigures[];
  /** Absent when the run failed before the phase. */
  rotation?: RotationEvidence & { pooledBefore: number[]; pooledAfter: number[] };
  nack?: NackEvidence;
  controlRestarts: ControlRestartEvidence[];
  appRestarts: AppRestartEvidence[];
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function reasons(p: PhaseFigures): string {
  const entries = Object.entries(p.reasons);
  return entries.length === 0 ? 'none' : entries.map(([r, n]) => `${int(n)} × ${r.replace(/\|/g, '\\|')}`).join('; ');
}

function phaseRows(phases: PhaseFigures[]): string[] {
  return table(
    ['phase', 's', 'sent', 'succeeded', 'failed', 'failures (outcome: reason)', 'failed within ms', 'P50 ms', 'P90 ms', 'P99 ms', 'max ms'],
    phases.map((p) => [
      p.name,
      ((p.endMs - p.startMs) / 1000).toFixed(1),
      int(p.sent),
      int(p.succeeded),
      int(p.failed),
      reasons(p),
      p.failedBetweenMs ? int(p.failedBetweenMs.last - p.failedBetweenMs.first) : '-',
      ms(p.latencyMs.p50),
      ms(p.latencyMs.p90),
      ms(p.latencyMs.p99),
      ms(p.latencyMs.max),
    ]),
  );
}

export function renderFaults(r: FaultRun): string {
  const m = r.machine;
  const s = r.settings;
  const lines: string[] = [
    '',
    `## Faults under steady load (${m.date.slice(0, 10)})`,
    '',
    `\`node dist/bench/faults.js --hold ${s.holdSeconds} --rotation ${s.rotationSeconds} --rounds ${s.rounds}\` at revision ${m.revision}: examples/httpbin in`,
    `loopback mode with \`certificateTTL: 10s\` (every proxy renews every 5 s, in every phase), ${s.workers} closed-loop clients sending`,
    "`GET http://httpbin:8000/get` back to back through sleep's sidecar (sleep sidecar → mTLS → httpbin sidecar → httpbin).",
    'A request counts in the phase during which it was sent; each fault is done once the earlier phases\' requests have',
    'ended. "failed within" is the time between the first and the last failed request\'s start: in a closed loop a fast',
    'failure is followed at once by the next request, so the count of failures grows with how fast they are answered,',
    `and the window is the figure to read. Machine: ${m.cpus} vCPU (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node};`,
    `load average ${r.loadAverage.map((n) => n.toFixed(2)).join(' ')} at the start, ${r.loadAverageEnd.map((n) => n.toFixed(2)).join(' ')} at the end; no CPU pinning.`,
    '',
    ...phaseRows(r.phases),
    '',
  ];
  if (r.rotation) {
    const served = Object.entries(r.rotation.served).map(([w, certs]) => `${w} ${certs.length}`);
    const kept = r.rotation.pooledAfter.filter((p) => r.rotation!.pooledBefore.includes(p)).length;
    lines.push(
      `Rotation: distinct certificates served on each inbound listener during the phase (read from TLS handshakes, each`,
      `newer than the last): ${served.join(', ')}. Sleep's pooled connections to httpbin's sidecar: ${r.rotation.pooledBefore.length} before,`,
      `${r.rotation.pooledAfter.length} after, ${kept} of them the same connections: a rotation changes the certificate for new handshakes`,
      'and leaves open connections alone (as Envoy does), so they outlive the certificate they were opened with.',
      '',
    );
  }
  if (r.nack) {
    const entries = Object.entries(r.nack.nacks);
    lines.push(
      `NACK: MeshConfig with an ext-authz provider \`timeout: 0s\` (valid to the control plane, refused by the ProxyConfig schema).`,
      ...entries.map(([id, n]) => `- ${id}: kept ${n.keptVersion ?? 'none'}; reason "${n.reason}"`),
      '',
    );
  }
  if (r.controlRestarts.length > 0) {
    lines.push(
      ...table(
        ['control plane restart', 'new process after ms', 'every proxy reconnected and in sync after ms'],
        r.controlRestarts.map((c, i) => [String(i + 1), int(c.restartedMs), int(c.reconnectedMs)]),
      ),
      '',
    );
  }
  if (r.appRestarts.length > 0) {
    lines.push(
      ...table(
        ['app restart', 'new process after ms', 'listening after ms', 'endpoint back in every proxy after ms'],
        r.appRestarts.map((a, i) => [String(i + 1), int(a.restartedMs), int(a.listeningMs), int(a.endpointsBackMs)]),
      ),
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}
