/**
 * gateway.networking.k8s.io/v1 GatewayClass and Gateway: a class names the controller that serves it; a Gateway
 * lists listeners (port, protocol, hostname, TLS, which routes may attach). The CRDs' rules on listeners (unique
 * names, TLS only where the protocol needs it, no hostname on TCP) are checked here.
 */
import { z } from 'zod';
import { PortNumberSchema, StringMapSchema } from '../scalars.js';
import type { SpecIssue } from '../spec-issue.js';
import { GroupSchema, HostnameSchema, KindNameSchema, NamespaceSchema, ObjectNameSchema, SectionNameSchema } from './shared-fields.js';

export const GatewayClassSpecSchema = z.strictObject({
  controllerName: z.string().min(1, 'controllerName is required').max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/, 'controllerName must be a domain-prefixed path, e.g. istio.io/gateway-controller'),
  parametersRef: z.strictObject({ group: GroupSchema, kind: KindNameSchema, name: ObjectNameSchema, namespace: NamespaceSchema.optional() }).optional(),
  description: z.string().max(64).optional(),
});
export type GatewayClassSpec = z.infer<typeof GatewayClassSpecSchema>;

const LabelSelectorSchema = z.strictObject({
  matchLabels: StringMapSchema.optional(),
  matchExpressions: z
    .array(z.strictObject({ key: z.string().min(1), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).optional() }))
    .optional(),
});
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

const AllowedRoutesSchema = z.strictObject({
  namespaces: z
    .strictObject({ from: z.enum(['All', 'Same', 'Selector', 'None']).optional(), selector: LabelSelectorSchema.optional() })
    .superRefine((n, ctx) => {
      if (n.from === 'Selector' && n.selector === undefined) ctx.addIssue({ code: 'custom', path: ['selector'], message: 'selector is required when from is Selector' });
    })
    .optional(),
  kinds: z.array(z.strictObject({ group: GroupSchema.optional(), kind: KindNameSchema })).max(8).optional(),
});

const CertificateRefSchema = z.strictObject({ group: GroupSchema.optional(), kind: KindNameSchema.optional(), name: ObjectNameSchema, namespace: NamespaceSchema.optional() });

const ListenerSchema = z.strictObject({
  name: SectionNameSchema,
  hostname: HostnameSchema.optional(),
  port: PortNumberSchema,
  protocol: z.string().min(1).max(255).regex(/^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/, 'not a valid protocol name'),
  tls: z
    .strictObject({
      mode: z.enum(['Terminate', 'Passthrough']).optional(),
      certificateRefs: z.array(CertificateRefSchema).max(64).optional(),
      options: StringMapSchema.optional(),
    })
    .optional(),
  allowedRoutes: AllowedRoutesSchema.optional(),
});
export type Listener = z.infer<typeof ListenerSchema>;

export const KubernetesGatewaySpecSchema = z.strictObject({
  gatewayClassName: ObjectNameSchema,
  listeners: z.array(ListenerSchema).min(1, 'a Gateway needs at least one listener').max(64),
  addresses: z.array(z.strictObject({ type: z.string().optional(), value: z.string().min(1).max(253) })).max(16).optional(),
  infrastructure: z.strictObject({ labels: StringMapSchema.optional(), annotations: StringMapSchema.optional() }).optional(),
});
export type KubernetesGatewaySpec = z.infer<typeof KubernetesGatewaySpecSchema>;

export function checkKubernetesGateway(spec: KubernetesGatewaySpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const names = new Set<string>();
  const combos = new Set<string>();
  spec.listeners.forEach((l, i) => {
    const at = ['listeners', i];
    if (names.has(l.name)) issues.push({ path: [...at, 'name'], message: `listener name "${l.name}" must be unique within the Gateway` });
    names.add(l.name);
    const combo = `${l.port}/${l.hostname ?? ''}/${l.protocol}`;
    if (combos.has(combo)) issues.push({ path: at, message: 'combination of port, protocol and hostname must be unique for each listener' });
    combos.add(combo);
    const needsTls = l.protocol === 'HTTPS' || l.protocol === 'TLS';
    if (needsTls && l.tls === undefined) issues.push({ path: [...at, 'tls'], message: `tls must be specified for protocol ${l.protocol}` });
    if ((l.protocol === 'HTTP' || l.protocol === 'TCP' || l.protocol === 'UDP') && l.tls !== undefined) issues.push({ path: [...at, 'tls'], message: `tls must not be specified for protocol ${l.protocol}` });
    if ((l.protocol === 'TCP' || l.protocol === 'UDP') && l.hostname !== undefined) issues.push({ path: [...at, 'hostname'], message: `hostname must not be specified for protocol ${l.protocol}` });
    if (l.tls && (l.tls.mode ?? 'Terminate') === 'Terminate' && (l.tls.certificateRefs ?? []).length === 0) {
      issues.push({ path: [...at, 'tls', 'certificateRefs'], message: 'certificateRefs must be specified when tls.mode is Terminate' });
    }
    if (l.protocol === 'HTTPS' && l.tls?.mode === 'Passthrough') issues.push({ path: [...at, 'tls', 'mode'], message: 'an HTTPS listener terminates TLS; use protocol TLS for Passthrough' });
  });
  return issues;
}

export const ReferenceGrantSpecSchema = z.strictObject({
  from: z.array(z.strictObject({ group: GroupSchema, kind: KindNameSchema, namespace: NamespaceSchema })).min(1).max(16),
  to: z.array(z.strictObject({ group: GroupSchema, kind: KindNameSchema, name: ObjectNameSchema.optional() })).min(1).max(16),
});
export type ReferenceGrantSpec = z.infer<typeof ReferenceGrantSpecSchema>;
