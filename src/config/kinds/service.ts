/**
 * Kubernetes v1 Service spec, with every documented ServiceSpec field accepted so that manifests written for a
 * cluster load unchanged; the mesh reads selector and ports, the rest is kept as data.
 */
import { z } from 'zod';
import { PortNumberSchema, StringMapSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

// IANA_SVC_NAME, the rule Kubernetes applies to named ports: <=15 chars, lowercase alnum and '-', one letter.
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const namedPort = z
  .string()
  .max(15, 'port name must be at most 15 characters')
  .regex(IANA_SVC_NAME, 'port name must be lowercase letters, digits and "-", with at least one letter')
  .refine((s) => !s.includes('--'), 'port name must not contain "--"');

export const ServicePortSchema = z.strictObject({
  name: z.string().optional(),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  appProtocol: z.string().optional(),
  port: PortNumberSchema,
  targetPort: z.union([PortNumberSchema, namedPort]).optional(),
  nodePort: PortNumberSchema.optional(),
});

export const ServiceSpecSchema = z.strictObject({
  selector: StringMapSchema.optional(),
  ports: z.array(ServicePortSchema).optional(),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
  clusterIP: z.string().optional(),
  clusterIPs: z.array(z.string()).optional(),
  externalIPs: z.array(z.string()).optional(),
  externalName: z.string().optional(),
  sessionAffinity: z.enum(['ClientIP', 'None']).optional(),
  sessionAffinityConfig: z
    .strictObject({ clientIP: z.strictObject({ timeoutSeconds: z.int().min(1).max(86400).optional() }).optional() })
    .optional(),
  loadBalancerIP: z.string().optional(),
  loadBalancerSourceRanges: z.array(z.string()).optional(),
  loadBalancerClass: z.string().optional(),
  allocateLoadBalancerNodePorts: z.boolean().optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  healthCheckNodePort: PortNumberSchema.optional(),
  publishNotReadyAddresses: z.boolean().optional(),
  ipFamilies: z.array(z.enum(['IPv4', 'IPv6'])).max(2).optional(),
  ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack', 'RequireDualStack']).optional(),
  trafficDistribution: z.string().optional(),
});

export type ServiceSpec = z.infer<typeof ServiceSpecSchema>;
export type ServicePort = z.infer<typeof ServicePortSchema>;

/** Kubernetes' rules across ports: names required once there are several, names unique, (port, protocol) unique. */
export function checkService(spec: ServiceSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const ports = spec.ports ?? [];
  const names = new Map<string, number>();
  const numbers = new Map<string, number>();
  ports.forEach((p, i) => {
    if (p.name === undefined) {
      if (ports.length > 1) issues.push({ path: ['ports', i, 'name'], message: 'name is required when a Service has more than one port' });
    } else {
      // Service port names are DNS-1123 labels (stricter IANA_SVC_NAME applies only to named target ports).
      if (p.name !== '' && !(p.name.length <= 63 && DNS1123_LABEL.test(p.name))) {
        issues.push({ path: ['ports', i, 'name'], message: 'port name must be a DNS-1123 label: lowercase letters, digits and "-"' });
      }
      const first = names.get(p.name);
      if (first !== undefined) issues.push({ path: ['ports', i, 'name'], message: `duplicate port name "${p.name}" (also ports[${first}])` });
      else names.set(p.name, i);
    }
    const key = `${p.port}/${p.protocol}`;
    const firstPort = numbers.get(key);
    if (firstPort !== undefined) issues.push({ path: ['ports', i, 'port'], message: `duplicate port ${key} (also ports[${firstPort}])` });
    else numbers.set(key, i);
  });
  if (spec.type === 'ExternalName' && spec.externalName === undefined) {
    issues.push({ path: ['externalName'], message: 'externalName is required when type is ExternalName' });
  }
  return issues;
}
