import type { MeshFile } from '../mesh/mesh-file.js';
import { formatTable } from './text-table.js';

/** The table `weft up` prints: who runs where, as which identity. */
export function formatMeshTable(m: MeshFile): string {
  const rows: string[][] = [];
  for (const w of m.workloads) {
    rows.push([`${w.namespace}/${w.name}`, w.spiffeId, w.inbound, w.outbound, w.app.join(',') || '-', w.state]);
  }
  if (m.gateway) {
    const listeners = Object.entries(m.gateway.listeners ?? {}).map(([port, at]) => `${port}->${at}`).join(',') || '-';
    rows.push([`${m.gateway.namespace}/${m.gateway.name}`, m.gateway.spiffeId, listeners, '-', '-', m.gateway.state]);
  }
  if (m.egressGateway) {
    const e = m.egressGateway;
    rows.push([`${e.namespace}/${e.name}`, e.spiffeId, e.podIP, '-', '-', e.state]);
  }
  rows.push(['control-plane', '-', m.control.address, '-', '-', m.control.pid ? 'running' : 'stopped']);
  for (const [i, r] of (m.replicas ?? []).entries()) rows.push([`control-plane-${i + 1}`, '-', r.address, '-', '-', r.pid ? 'running' : 'stopped']);
  return formatTable(['WORKLOAD', 'IDENTITY', 'INBOUND', 'OUTBOUND', 'APP', 'STATE'], rows);
}
