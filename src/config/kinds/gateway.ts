/** Istio's networking.istio.io/v1 Gateway spec: the ports, hosts and TLS an ingress or egress gateway serves. */
import { z } from 'zod';
import { PortNumberSchema, StringMapSchema, UInt32Schema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';
import { checkServerTls } from './gateway-tls-check.js';

const TlsProtocolSchema = z.enum(['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3']);

export const ServerTlsSettingsSchema = z.strictObject({
  httpsRedirect: z.boolean().optional(),
  mode: z.enum(['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']).optional(),
  serverCertificate: z.string().optional(),
  privateKey: z.string().optional(),
  caCertificates: z.string().optional(),
  caCrl: z.string().optional(),
  credentialName: z.string().optional(),
  credentialNames: z.array(z.string()).max(2).optional(),
  caCertCredentialName: z.string().optional(),
  tlsCertificates: z
    .array(
      z.strictObject({
        serverCertificate: z.string().optional(),
        privateKey: z.string().optional(),
        caCertificates: z.string().optional(),
      }),
    )
    .max(2)
    .optional(),
  subjectAltNames: z.array(z.string()).optional(),
  verifyCertificateSpki: z.array(z.string()).optional(),
  verifyCertificateHash: z.array(z.string()).optional(),
  minProtocolVersion: TlsProtocolSchema.optional(),
  maxProtocolVersion: TlsProtocolSchema.optional(),
  cipherSuites: z.array(z.string()).optional(),
  insecureSkipVerify: z.boolean().optional(),
});

export type ServerTlsSettings = z.infer<typeof ServerTlsSettingsSchema>;

/** Istio protocol names, matched case-insensitively as Istio does. */
export const ISTIO_PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'MONGO', 'REDIS', 'MYSQL', 'TCP', 'TLS', 'UDP'] as const;
export const IstioProtocolSchema = z
  .string()
  .refine((p) => (ISTIO_PROTOCOLS as readonly string[]).includes(p.toUpperCase()), {
    message: `protocol must be one of ${ISTIO_PROTOCOLS.join(', ')}`,
  });

export const GatewayPortSchema = z.strictObject({
  number: PortNumberSchema,
  protocol: IstioProtocolSchema,
  name: z.string().min(1, 'port name is required'),
  targetPort: UInt32Schema.optional(),
});

export const GatewayServerSchema = z.strictObject({
  port: GatewayPortSchema,
  bind: z.string().optional(),
  hosts: z.array(z.string().min(1)).min(1, 'a server needs at least one host'),
  tls: ServerTlsSettingsSchema.optional(),
  defaultEndpoint: z.string().optional(),
  name: z.string().optional(),
});

export const GatewaySpecSchema = z.strictObject({
  servers: z.array(GatewayServerSchema).optional(),
  selector: StringMapSchema.optional(),
});

export type GatewaySpec = z.infer<typeof GatewaySpecSchema>;
export type GatewayServer = z.infer<typeof GatewayServerSchema>;

export function checkGateway(spec: GatewaySpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const names = new Map<string, number>();
  (spec.servers ?? []).forEach((s, i) => {
    const first = names.get(s.port.name);
    if (first !== undefined) issues.push({ path: ['servers', i, 'port', 'name'], message: `duplicate port name "${s.port.name}" (also servers[${first}])` });
    else names.set(s.port.name, i);
    const proto = s.port.protocol.toUpperCase();
    const mode = s.tls?.mode;
    if (proto === 'HTTPS' && s.tls === undefined) issues.push({ path: ['servers', i, 'tls'], message: 'an HTTPS server requires tls settings' });
    if ((mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') && s.tls !== undefined) {
      const t = s.tls;
      const hasCert = t.credentialName !== undefined || (t.credentialNames ?? []).length > 0 || (t.tlsCertificates ?? []).length > 0
        || (t.serverCertificate !== undefined && t.privateKey !== undefined);
      if (!hasCert) issues.push({ path: ['servers', i, 'tls'], message: `tls mode ${mode} requires credentialName or serverCertificate and privateKey` });
    }
    if (s.tls !== undefined) issues.push(...checkServerTls(s.tls, proto, ['servers', i, 'tls']));
    s.hosts.forEach((h, j) => {
      if (!/^([^/]+\/)?(\*|\*?[A-Za-z0-9.-]+)$/.test(h)) issues.push({ path: ['servers', i, 'hosts', j], message: 'host must be [namespace/]dnsName, optionally with a leading wildcard' });
    });
  });
  return issues;
}
