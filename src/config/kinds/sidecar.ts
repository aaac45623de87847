/** Istio's networking.istio.io/v1 Sidecar spec: narrows what a sidecar listens on and which hosts it can reach. */
import { z } from 'zod';
import { LabelsSelectorSchema, PortNumberSchema } from './scalars.js';
import { IstioProtocolSchema, ServerTlsSettingsSchema } from './gateway.js';
import { ConnectionPoolSettingsSchema } from './traffic-policy.js';
import { DestinationSchema } from './virtual-service.js';
import type { SpecIssue } from './spec-issue.js';

const CaptureModeSchema = z.enum(['DEFAULT', 'IPTABLES', 'NONE']);

const SidecarPortSchema = z.strictObject({
  number: PortNumberSchema.optional(),
  protocol: IstioProtocolSchema.optional(),
  name: z.string().optional(),
  targetPort: PortNumberSchema.optional(),
});

export const IngressListenerSchema = z.strictObject({
  port: SidecarPortSchema,
  bind: z.string().optional(),
  captureMode: CaptureModeSchema.optional(),
  defaultEndpoint: z.string().optional(),
  tls: ServerTlsSettingsSchema.optional(),
  connectionPool: ConnectionPoolSettingsSchema.optional(),
});

export const EgressListenerSchema = z.strictObject({
  port: SidecarPortSchema.optional(),
  bind: z.string().optional(),
  captureMode: CaptureModeSchema.optional(),
  hosts: z.array(z.string().min(1)).min(1, 'an egress listener needs at least one host'),
});

export const SidecarSpecSchema = z.strictObject({
  workloadSelector: LabelsSelectorSchema.optional(),
  ingress: z.array(IngressListenerSchema).optional(),
  egress: z.array(EgressListenerSchema).optional(),
  inboundConnectionPool: ConnectionPoolSettingsSchema.optional(),
  outboundTrafficPolicy: z
    .strictObject({ mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']).optional(), egressProxy: DestinationSchema.optional() })
    .optional(),
});

export type SidecarSpec = z.infer<typeof SidecarSpecSchema>;

export function checkSidecar(spec: SidecarSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const egress = spec.egress ?? [];
  egress.forEach((e, i) => {
    e.hosts.forEach((h, j) => {
      // Sidecar egress hosts are always namespace/dnsName ("*/", "./", "~/" or a namespace).
      if (!/^[^/]+\/[^/]+$/.test(h)) issues.push({ path: ['egress', i, 'hosts', j], message: 'host must be namespace/dnsName, e.g. "./*" or "istio-system/*"' });
      else if (!/^(\*|\*\.[^*]+|[^*]+)$/.test(h.slice(h.indexOf('/') + 1))) {
        issues.push({ path: ['egress', i, 'hosts', j], message: 'dnsName must be "*", "*.suffix" or a name without "*"' });
      }
    });
    // Istio's rule: the listener without a port catches whatever the others do not, so there is one and it is last.
    if (e.port?.number === undefined) {
      const earlier = egress.findIndex((x) => x.port?.number === undefined);
      if (earlier < i) issues.push({ path: ['egress', i, 'port'], message: `only one egress listener may omit the port (also egress[${earlier}])` });
      else if (i !== egress.length - 1) issues.push({ path: ['egress', i, 'port'], message: 'the egress listener without a port must be the last one' });
    }
  });
  (spec.ingress ?? []).forEach((l, i) => {
    if (l.port.number === undefined) issues.push({ path: ['ingress', i, 'port', 'number'], message: 'ingress port number is required' });
  });
  return issues;
}
