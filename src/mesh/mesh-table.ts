import type { MeshFile } from './mesh-file.js';

/** The table `weft up` prints: who runs where, as which identity. */
export function formatMeshTable(m: MeshFile): string {
  const rows: string[][] = [['WORKLOAD', 'IDENTITY', 'INBOUND', 'OUTBOUND', 'APP', 'STATE']];
  for (const w of m.workloads) {
    rows.push([`${w.namespace}/${w.name}`, w.spiffeId, w.inbound, w.outbound, w.app.join(',') || '-', w.state]);
  }
  if (m.gateway) {
    const listeners = Object.values(m.gateway.listeners ?? {}).join(',') || '-';
    rows.push([`${m.gateway.namespace}/${m.gateway.name}`, m.gateway.spiffeId, listeners, '-', '-', m.gateway.state]);
  }
  rows.push(['control-plane', '-', m.control.address, '-', '-', m.control.pid ? 'running' : 'stopped']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
