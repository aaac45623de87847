/** What the scale scenario applies: Services, Workloads with pod IPs, and optionally a Sidecar per service. */
import type { Resource } from '../src/config/resource.js';

export function scaleResources(services: number, workloads: number, changed: boolean): Resource[] {
  const out: Resource[] = [];
  for (let s = 0; s < services; s++) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${s}`, namespace: 'scale' },
      // The change under test adds a port to svc-0: every proxy's config lists every service, so all must update.
      spec: { ports: [{ name: 'http', port: 8080, targetPort: 8080 }, ...(s === 0 && changed ? [{ name: 'http-alt', port: 9090, targetPort: 8080 }] : [])], selector: { app: `svc-${s}` } },
    } as unknown as Resource);
  }
  for (let w = 0; w < workloads; w++) {
    out.push({
      apiVersion: 'weft.dev/v1alpha1',
      kind: 'Workload',
      metadata: { name: `wl-${w}`, namespace: 'scale', labels: { app: `svc-${w % services}` } },
      spec: { serviceAccount: `sa-${w % services}`, command: ['true'], ports: [{ name: 'http', containerPort: 8080 }] },
    } as unknown as Resource);
  }
  return out;
}

const SIDECAR_NEIGHBOURS = 8;

export function scaleSidecars(services: number): Resource[] {
  const host = (s: number): string => `./svc-${s % services}.scale.svc.cluster.local`;
  return Array.from({ length: services }, (_, s) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: `svc-${s}`, namespace: 'scale' },
    spec: {
      workloadSelector: { labels: { app: `svc-${s}` } },
      egress: [{ hosts: [...new Set([host(s), host(0), ...Array.from({ length: SIDECAR_NEIGHBOURS }, (_, k) => host(s + k + 1))])] }],
    },
  }) as unknown as Resource);
}

export function podIPOf(i: number): string {
  return `127.200.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}
