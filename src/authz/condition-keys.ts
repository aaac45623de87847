/**
 * The `when` keys Istio understands, parsed once into a tagged key. Validation and compilation both use
 * this parse so that a key the checker accepts is always a key the engine can compile.
 */
export type ConditionKey =
  | { kind: 'requestHeader'; header: string }
  | { kind: 'sourceIp' }
  | { kind: 'remoteIp' }
  | { kind: 'sourceNamespace' }
  | { kind: 'sourceServiceAccount' }
  | { kind: 'sourcePrincipal' }
  | { kind: 'sourceTrustDomain' }
  | { kind: 'requestPrincipal' }
  | { kind: 'requestAudiences' }
  | { kind: 'requestPresenter' }
  | { kind: 'requestClaim'; path: string[] }
  | { kind: 'destinationIp' }
  | { kind: 'destinationPort' }
  | { kind: 'connectionSni' }
  | { kind: 'envoyFilterMetadata'; filter: string; field: string };

export type ConditionKeyResult = { ok: true; key: ConditionKey } | { ok: false; message: string };

const EXACT: Record<string, ConditionKey> = {
  'source.ip': { kind: 'sourceIp' },
  'remote.ip': { kind: 'remoteIp' },
  'source.namespace': { kind: 'sourceNamespace' },
  'source.serviceAccount': { kind: 'sourceServiceAccount' },
  'source.principal': { kind: 'sourcePrincipal' },
  'source.trustDomain': { kind: 'sourceTrustDomain' },
  'request.auth.principal': { kind: 'requestPrincipal' },
  'request.auth.audiences': { kind: 'requestAudiences' },
  'request.auth.presenter': { kind: 'requestPresenter' },
  'destination.ip': { kind: 'destinationIp' },
  'destination.port': { kind: 'destinationPort' },
  'connection.sni': { kind: 'connectionSni' },
};

/** `[a][b]...` → ['a', 'b']; null when the brackets are malformed or a name is empty. */
export function parseBracketNames(text: string): string[] | null {
  const names: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    if (!rest.startsWith('[')) return null;
    const close = rest.indexOf(']');
    if (close < 0) return null;
    const name = rest.slice(1, close);
    if (name.length === 0 || name.includes('[')) return null;
    names.push(name);
    rest = rest.slice(close + 1);
  }
  return names.length > 0 ? names : null;
}

export function parseConditionKey(key: string): ConditionKeyResult {
  const exact = EXACT[key];
  if (exact) return { ok: true, key: exact };
  for (const prefix of ['request.headers', 'request.experimental.inline.headers']) {
    if (key.startsWith(prefix + '[')) {
      const names = parseBracketNames(key.slice(prefix.length));
      if (!names || names.length !== 1) return { ok: false, message: `bad key (${key}): should have format a[b]` };
      return { ok: true, key: { kind: 'requestHeader', header: names[0]!.toLowerCase() } };
    }
  }
  if (key.startsWith('request.auth.claims[')) {
    const names = parseBracketNames(key.slice('request.auth.claims'.length));
    if (!names) return { ok: false, message: `bad key (${key}): should have format a[b] or a[b][c]` };
    return { ok: true, key: { kind: 'requestClaim', path: names } };
  }
  if (key.startsWith('experimental.envoy.filters.')) {
    const open = key.indexOf('[');
    const names = open > 0 ? parseBracketNames(key.slice(open)) : null;
    if (!names || names.length !== 1) return { ok: false, message: `bad key (${key}): should have format a[b]` };
    return { ok: true, key: { kind: 'envoyFilterMetadata', filter: key.slice('experimental.'.length, open), field: names[0]! } };
  }
  if (key === 'destination.namespace') return { ok: false, message: `attribute ${key} is replaced by the metadata.namespace` };
  if (key.startsWith('destination.labels')) return { ok: false, message: `attribute ${key} is replaced by the workload selector` };
  if (key === 'destination.name' || key === 'destination.user') {
    return { ok: false, message: `deprecated attribute ${key}: only supported in v1alpha1` };
  }
  return { ok: false, message: `unknown attribute: ${key}` };
}

/** Keys whose value exists only on an HTTP request; on a TCP connection Istio cannot evaluate them. */
export function isHttpOnlyKey(key: ConditionKey): boolean {
  switch (key.kind) {
    case 'requestHeader':
    case 'requestPrincipal':
    case 'requestAudiences':
    case 'requestPresenter':
    case 'requestClaim':
      return true;
    default:
      return false;
  }
}
