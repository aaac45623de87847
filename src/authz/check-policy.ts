/**
 * The rules of Istio's AuthorizationPolicy validation that a schema cannot express. Each issue names the
 * field path it concerns, so the config loader can point at the file, line and field.
 */
import type { AuthorizationPolicySpec, SpecIssue } from '../config/kinds/authorization-policy.js';
import { parseConditionKey } from './condition-keys.js';
import { parseCidr } from './ip-block.js';
import { containsPathTemplate, pathTemplateProblem } from './path-template.js';

type Path = (string | number)[];

export function isValidPort(text: string): boolean {
  if (!/^[0-9]{1,5}$/.test(text)) return false;
  const n = Number(text);
  return n >= 1 && n <= 65535;
}

function checkSelector(spec: { selector?: { matchLabels?: Record<string, string> | undefined } | undefined }, out: SpecIssue[]): void {
  for (const [k, v] of Object.entries(spec.selector?.matchLabels ?? {})) {
    if (k === '') out.push({ path: ['selector', 'matchLabels'], message: `empty key is not supported in selector: "${k}=${v}"` });
    if (k.includes('*') || v.includes('*')) {
      out.push({ path: ['selector', 'matchLabels', k], message: `wildcard is not supported in selector: "${k}=${v}"` });
    }
  }
}

/** Istio: selector, targetRef and targetRefs are mutually exclusive. Shared with RequestAuthentication. */
export function checkWorkloadTarget(
  spec: {
    selector?: { matchLabels?: Record<string, string> | undefined } | undefined;
    targetRef?: unknown;
    targetRefs?: unknown[] | undefined;
  },
  out: SpecIssue[],
): void {
  const set = Number(spec.selector !== undefined) + Number(spec.targetRef !== undefined) + Number((spec.targetRefs?.length ?? 0) > 0);
  if (set > 1) out.push({ path: ['selector'], message: 'only one of selector, targetRef or targetRefs can be set' });
  checkSelector(spec, out);
}

function nonEmpty(values: string[] | undefined, path: Path, out: SpecIssue[]): void {
  values?.forEach((v, i) => {
    if (v === '') out.push({ path: [...path, i], message: 'empty value not allowed' });
  });
}

function ipList(values: string[] | undefined, path: Path, out: SpecIssue[]): void {
  values?.forEach((v, i) => {
    if (v !== '' && !parseCidr(v)) {
      out.push({ path: [...path, i], message: v.includes('/') ? `bad CIDR range (${v})` : `bad IP address (${v})` });
    }
  });
}

function portList(values: string[] | undefined, path: Path, out: SpecIssue[]): void {
  values?.forEach((v, i) => {
    if (!isValidPort(v)) out.push({ path: [...path, i], message: `bad port (${v}): must be an integer in 1-65535` });
  });
}

function serviceAccountList(values: string[] | undefined, path: Path, out: SpecIssue[]): void {
  if (!values) return;
  if (values.length > 16) out.push({ path, message: 'may not have more than 16 values' });
  values.forEach((v, i) => {
    const at = [...path, i];
    if (v === '') out.push({ path: at, message: 'empty value not allowed' });
    else if (v.includes('*')) out.push({ path: at, message: 'wildcard not allowed' });
    else if (v.length > 320) out.push({ path: at, message: 'value cannot exceed 320 characters' });
    else {
      const parts = v.split('/');
      if (parts.length > 2 || parts.some((p) => p === '')) {
        out.push({ path: at, message: `expected format 'serviceAccount' or 'namespace/serviceAccount', found "${v}"` });
      }
    }
  });
}

/** Istio's CheckWildcardValues: at most one `*`, and only at the start or the end. */
function wildcardProblem(v: string): string | null {
  const stars = v.split('*').length - 1;
  if (stars > 1) return `at most one wildcard is allowed, found "${v}"`;
  if (stars === 1 && v !== '*' && !v.startsWith('*') && !v.endsWith('*')) return `wildcard is only allowed at the start or end, found "${v}"`;
  return null;
}

function wildcardList(values: string[] | undefined, path: Path, out: SpecIssue[]): boolean {
  let ok = true;
  values?.forEach((v, i) => {
    const problem = wildcardProblem(v);
    if (problem === null) return;
    out.push({ path: [...path, i], message: problem });
    ok = false;
  });
  return ok;
}

/** Istio's CheckTrustDomainValues: wildcard values that are not empty and name no path. */
function trustDomainList(values: string[] | undefined, path: Path, out: SpecIssue[]): void {
  nonEmpty(values, path, out);
  if (!wildcardList(values, path, out)) return;
  values?.forEach((v, i) => {
    if (v.includes('/')) out.push({ path: [...path, i], message: `trust domain must not contain '/', found "${v}"` });
  });
}

function pathList(values: string[] | undefined, path: Path, out: SpecIssue[]): void {
  values?.forEach((v, i) => {
    const at = [...path, i];
    if (v === '') return; // reported as an empty value
    if (!v.startsWith('/') && !v.startsWith('*')) {
      out.push({ path: at, message: `path "${v}" must start with "/" or be a "*" wildcard form` });
      return;
    }
    const problem = containsPathTemplate(v) || /[{}]/.test(v) ? pathTemplateProblem(v) : null;
    if (problem) out.push({ path: at, message: `invalid or unsupported path ${v}: ${problem}` });
  });
}

export function checkAuthorizationPolicy(spec: AuthorizationPolicySpec): SpecIssue[] {
  const out: SpecIssue[] = [];
  checkWorkloadTarget(spec, out);
  const action = spec.action ?? 'ALLOW';

  if (action === 'CUSTOM') {
    if (spec.rules === undefined) {
      out.push({ path: ['rules'], message: 'CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` to trigger it for every request' });
    } else if (!spec.provider || spec.provider.name === '') {
      out.push({ path: ['provider', 'name'], message: '`provider.name` must not be empty' });
    }
    spec.rules?.forEach((rule, i) => {
      rule.from?.forEach((from, j) => {
        const src = from.source;
        if (!src) return;
        for (const field of ['namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains', 'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals'] as const) {
          if ((src[field]?.length ?? 0) > 0) {
            out.push({ path: ['rules', i, 'from', j, 'source', field], message: `${field} is currently not supported with CUSTOM action` });
          }
        }
      });
      rule.when?.forEach((cond, j) => {
        const k = cond.key;
        if (k === 'source.namespace' || k === 'source.serviceAccount' || k === 'source.trustDomain' || k === 'source.principal' || k.startsWith('request.auth.')) {
          out.push({ path: ['rules', i, 'when', j, 'key'], message: `${k} is currently not supported with CUSTOM action` });
        }
      });
    });
  }
  if (spec.provider !== undefined && action !== 'CUSTOM') {
    out.push({ path: ['provider'], message: `\`provider\` must not be with non CUSTOM action, found ${action}` });
  }
  if (action === 'DENY' && spec.rules === undefined) {
    out.push({ path: ['rules'], message: 'DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` to trigger it for every request' });
  }

  spec.rules?.forEach((rule, i) => {
    const r: Path = ['rules', i];
    if (rule.from !== undefined && rule.from.length === 0) out.push({ path: [...r, 'from'], message: '`from` must not be empty' });
    rule.from?.forEach((from, j) => {
      const p: Path = [...r, 'from', j, 'source'];
      const src = from.source;
      if (!src) {
        out.push({ path: p, message: '`from.source` must not be nil' });
        return;
      }
      const lists = Object.values(src).filter((v) => Array.isArray(v) && v.length > 0);
      if (lists.length === 0) out.push({ path: p, message: '`from.source` must not be empty' });
      const hasSa = (src.serviceAccounts?.length ?? 0) + (src.notServiceAccounts?.length ?? 0) > 0;
      const hasNsOrPrincipal = (src.principals?.length ?? 0) + (src.notPrincipals?.length ?? 0) + (src.namespaces?.length ?? 0) + (src.notNamespaces?.length ?? 0) > 0;
      if (hasSa && hasNsOrPrincipal) out.push({ path: p, message: 'cannot set serviceAccounts with namespaces or principals' });
      for (const f of ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) {
        nonEmpty(src[f], [...p, f], out);
      }
      for (const f of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) ipList(src[f], [...p, f], out);
      trustDomainList(src.trustDomains, [...p, 'trustDomains'], out);
      trustDomainList(src.notTrustDomains, [...p, 'notTrustDomains'], out);
      serviceAccountList(src.serviceAccounts, [...p, 'serviceAccounts'], out);
      serviceAccountList(src.notServiceAccounts, [...p, 'notServiceAccounts'], out);
    });
    if (rule.to !== undefined && rule.to.length === 0) out.push({ path: [...r, 'to'], message: '`to` must not be empty' });
    rule.to?.forEach((to, j) => {
      const p: Path = [...r, 'to', j, 'operation'];
      const op = to.operation;
      if (!op) {
        out.push({ path: p, message: '`to.operation` must not be nil' });
        return;
      }
      if (Object.values(op).every((v) => !Array.isArray(v) || v.length === 0)) out.push({ path: p, message: '`to.operation` must not be empty' });
      for (const f of ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const) nonEmpty(op[f], [...p, f], out);
      portList(op.ports, [...p, 'ports'], out);
      portList(op.notPorts, [...p, 'notPorts'], out);
      pathList(op.paths, [...p, 'paths'], out);
      pathList(op.notPaths, [...p, 'notPaths'], out);
    });
    rule.when?.forEach((cond, j) => {
      const p: Path = [...r, 'when', j];
      if (cond.key === '') {
        out.push({ path: [...p, 'key'], message: '`key` must not be empty' });
        return;
      }
      if ((cond.values?.length ?? 0) === 0 && (cond.notValues?.length ?? 0) === 0) {
        out.push({ path: p, message: `at least one of \`values\` or \`notValues\` must be set for key ${cond.key}` });
        return;
      }
      const parsed = parseConditionKey(cond.key);
      if (!parsed.ok) {
        out.push({ path: [...p, 'key'], message: parsed.message });
        return;
      }
      for (const field of ['values', 'notValues'] as const) {
        const values = cond[field];
        const at: Path = [...p, field];
        nonEmpty(values, at, out);
        switch (parsed.key.kind) {
          case 'sourceIp':
          case 'remoteIp':
          case 'destinationIp':
            ipList(values, at, out);
            break;
          case 'destinationPort':
            portList(values, at, out);
            break;
          case 'sourceServiceAccount':
            serviceAccountList(values, at, out);
            break;
          case 'sourceTrustDomain':
            wildcardList(values, at, out);
            break;
          default:
            break;
        }
      }
    });
  });
  return out;
}
