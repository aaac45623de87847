/**
 * IST0161 InvalidGatewayCredential: a Gateway server's `credentialName` (or `credentialNames`) names a Secret that is
 * not in the gateway workload's namespace (Istio's rule; for weft's own gateways the root namespace), or a Secret
 * without a certificate and key, or a MUTUAL server finds no client CA (the Secret's `ca.crt`/`cacert`, the
 * `<name>-cacert` Secret or `caCertCredentialName`). The gateway would serve no certificate on that server.
 *
 * Only the Secret's key names are read: in the store a Secret is sealed and its values are not the analyzer's to
 * see. A certificate's own validity is checked when the Secret is applied.
 */
import type { GatewaySpec, ServerTlsSettings } from '../config/kinds/gateway.js';
import type { SecretSpec } from '../config/kinds/secret.js';
import { selects } from '../control/registry/index.js';
import { isSealed } from '../control/secrets/secret-sealing.js';
import { GATEWAY_LABELS } from '../mesh/ingress-gateway.js';
import { EGRESS_GATEWAY_LABELS } from '../mesh/egress-gateway.js';
import type { AnalysisContext, Check, Item } from './context.js';
import type { Finding } from './finding.js';

const KEY_PAIRS: readonly (readonly [string, string])[] = [['tls.crt', 'tls.key'], ['cert', 'key']];
const CA_KEYS = ['ca.crt', 'cacert'];

/** The namespaces the Gateway's workloads run in: the root namespace for weft's gateways, else the selected Workloads'. */
function workloadNamespaces(ctx: AnalysisContext, gw: Item<GatewaySpec>): string[] {
  const selector = gw.spec.selector ?? {};
  const builtIn = Object.keys(selector).length === 0 || selects(selector, GATEWAY_LABELS) || selects(selector, EGRESS_GATEWAY_LABELS);
  if (builtIn) return [ctx.rootNamespace];
  // No Workload selected is IST0101's finding; there is then no namespace to look in.
  return [...new Set(ctx.snapshot.registry.workloads.filter((w) => selects(selector, w.labels)).map((w) => w.namespace))];
}

function secretKeys(spec: unknown): Set<string> {
  if (isSealed(spec)) return new Set(spec.sealed.keys);
  return new Set(Object.keys((spec as SecretSpec).data ?? {}));
}

function problemsIn(tls: ServerTlsSettings, namespace: string, find: (name: string) => Set<string> | undefined): string[] {
  if (tls.mode === 'ISTIO_MUTUAL' || tls.mode === 'PASSTHROUGH' || tls.mode === 'AUTO_PASSTHROUGH') return [];
  const names = tls.credentialNames ?? (tls.credentialName === undefined ? [] : [tls.credentialName]);
  if (names.length === 0) return [];
  const problems: string[] = [];
  let hasCa = tls.caCertificates !== undefined;
  for (const name of names) {
    const keys = find(name);
    if (keys === undefined) {
      problems.push(`Secret ${namespace}/${name} not found`);
      continue;
    }
    if (!KEY_PAIRS.some(([c, k]) => keys.has(c) && keys.has(k))) problems.push(`Secret ${namespace}/${name} has no tls.crt and tls.key`);
    hasCa ||= CA_KEYS.some((k) => keys.has(k));
  }
  if ((tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL') && !hasCa) {
    const caName = tls.caCertCredentialName ?? `${names[0]}-cacert`;
    const caKeys = find(caName);
    if (caKeys === undefined || !CA_KEYS.some((k) => caKeys.has(k))) {
      problems.push(`mode ${tls.mode} needs a client CA: ca.crt in Secret ${namespace}/${names[0]} or the Secret ${namespace}/${caName}`);
    }
  }
  return problems;
}

export const checkGatewayCredentials: Check = (ctx) => {
  const out: Finding[] = [];
  const secrets = ctx.of<SecretSpec>('Secret');
  for (const gw of ctx.of<GatewaySpec>('Gateway')) {
    const namespaces = workloadNamespaces(ctx, gw);
    (gw.spec.servers ?? []).forEach((server, i) => {
      if (server.tls === undefined) return;
      for (const namespace of namespaces) {
        const find = (name: string): Set<string> | undefined => {
          // Istio's cross-namespace form, as the Gateway API's certificateRefs are written.
          const ref = /^kubernetes-gateway:\/\/([^/]+)\/([^/]+)$/.exec(name);
          const [ns, secret] = ref === null ? [namespace, name] : [ref[1], ref[2]];
          const s = secrets.find((x) => x.namespace === ns && x.name === secret);
          return s === undefined ? undefined : secretKeys(s.spec);
        };
        const problems = problemsIn(server.tls, namespace, find);
        if (problems.length === 0) continue;
        out.push(ctx.finding(gw.entry, {
          code: 'IST0161', severity: 'error', path: ['spec', 'servers', i, 'tls'],
          message: `The gateway is using an invalid credential: ${problems.join('; ')}`,
          fix: `apply the Secret in namespace ${namespace}, where the gateway runs, with tls.crt and tls.key (and ca.crt for MUTUAL), as kubectl create secret tls writes it`,
        }));
      }
    });
  }
  return out;
};
