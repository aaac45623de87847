/** Istio's networking.istio.io/v1 ServiceEntry spec: adds a service (often one outside the mesh) to the registry. */
import { z } from 'zod';
import { LabelsSelectorSchema, PortNumberSchema, StringMapSchema, UInt32Schema } from './scalars.js';
import { IstioProtocolSchema } from './gateway.js';
import type { SpecIssue } from './spec-issue.js';
import { dns1123LabelProblem } from '../metadata.js';

export const ServiceEntryPortSchema = z.strictObject({
  number: PortNumberSchema,
  protocol: IstioProtocolSchema.optional(),
  name: z.string().min(1, 'port name is required'),
  targetPort: PortNumberSchema.optional(),
});

/** networking.v1alpha3.WorkloadEntry, as inlined in ServiceEntry.endpoints. */
export const WorkloadEntrySchema = z.strictObject({
  address: z.string().optional(),
  ports: z.record(z.string(), PortNumberSchema).optional(),
  labels: StringMapSchema.optional(),
  network: z.string().optional(),
  locality: z.string().optional(),
  weight: UInt32Schema.optional(),
  serviceAccount: z.string().optional(),
});

export const ServiceEntrySpecSchema = z.strictObject({
  hosts: z.array(z.string().min(1)).min(1, 'at least one host is required'),
  addresses: z.array(z.string()).optional(),
  ports: z.array(ServiceEntryPortSchema).optional(),
  location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).optional(),
  resolution: z.enum(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']).optional(),
  endpoints: z.array(WorkloadEntrySchema).optional(),
  workloadSelector: LabelsSelectorSchema.optional(),
  exportTo: z.array(z.string()).optional(),
  subjectAltNames: z.array(z.string()).optional(),
});

export type ServiceEntrySpec = z.infer<typeof ServiceEntrySpecSchema>;
export type WorkloadEntry = z.infer<typeof WorkloadEntrySchema>;

/** Istio's exportTo rules: `*`, `.`, `~` or a namespace name; `~` (export nowhere) only on its own. */
export function checkExportTo(exportTo: readonly string[] | undefined): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const list = exportTo ?? [];
  list.forEach((e, i) => {
    if (e === '~' && list.length > 1) issues.push({ path: ['exportTo', i], message: '"~" (export to no namespace) cannot be combined with other entries' });
    else if (e !== '*' && e !== '.' && e !== '~') {
      const problem = dns1123LabelProblem(e);
      if (problem !== undefined) issues.push({ path: ['exportTo', i], message: `"${e}" is not "*", ".", "~" or a namespace name: ${problem}` });
    }
  });
  return issues;
}

export function checkServiceEntry(spec: ServiceEntrySpec): SpecIssue[] {
  const issues: SpecIssue[] = [...checkExportTo(spec.exportTo)];
  spec.hosts.forEach((h, i) => {
    // As Istio: a ServiceEntry for every host there is would make REGISTRY_ONLY meaningless.
    if (h === '*') issues.push({ path: ['hosts', i], message: 'host "*" is not allowed: name the hosts, or a domain as "*.example.com"' });
  });
  const names = new Map<string, number>();
  const numbers = new Map<number, number>();
  (spec.ports ?? []).forEach((p, i) => {
    const first = names.get(p.name);
    if (first !== undefined) issues.push({ path: ['ports', i, 'name'], message: `duplicate port name "${p.name}" (also ports[${first}])` });
    else names.set(p.name, i);
    const firstNumber = numbers.get(p.number);
    if (firstNumber !== undefined) issues.push({ path: ['ports', i, 'number'], message: `duplicate port ${p.number} (also ports[${firstNumber}])` });
    else numbers.set(p.number, i);
  });
  if (spec.workloadSelector !== undefined && spec.endpoints !== undefined) {
    issues.push({ path: ['workloadSelector'], message: 'only one of workloadSelector, endpoints may be set' });
  }
  if (spec.resolution === 'STATIC' && spec.workloadSelector === undefined) {
    (spec.endpoints ?? []).forEach((e, i) => {
      if (e.address === undefined) issues.push({ path: ['endpoints', i, 'address'], message: 'address is required with STATIC resolution' });
    });
  }
  if ((spec.resolution === undefined || spec.resolution === 'NONE') && (spec.endpoints ?? []).length > 0) {
    issues.push({ path: ['endpoints'], message: 'endpoints need resolution STATIC or DNS' });
  }
  return issues;
}
