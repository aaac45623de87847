/**
 * kubectl's names for resource types, so messages read the way Istio users already know:
 * `virtualservice.networking.istio.io/bookinfo`, `virtualservices.networking.istio.io "x" not found`,
 * and the core group's bare `service/details`.
 */

/** `networking.istio.io/v1` → `networking.istio.io`; the core group (`v1`) → `''`. */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** English plural of a lowercase kind, as Kubernetes spells resource plurals. */
export function pluralizeKind(lowerKind: string): string {
  if (/[^aeiou]y$/.test(lowerKind)) return `${lowerKind.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lowerKind)) return `${lowerKind}es`;
  return `${lowerKind}s`;
}

/** The Gateway API's Gateway is stored as KubernetesGateway; kubectl's names say Gateway. */
const documentKind = (kind: string): string => (kind === 'KubernetesGateway' ? 'Gateway' : kind);

function withGroup(name: string, apiVersion: string | undefined): string {
  const group = apiVersion === undefined ? '' : apiGroup(apiVersion);
  return group === '' ? name : `${name}.${group}`;
}

/** `virtualservice.networking.istio.io`, `service`: the prefix of `kubectl apply`'s result lines. */
export function typeName(kind: string, apiVersion?: string): string {
  return withGroup(documentKind(kind).toLowerCase(), apiVersion);
}

/** `virtualservices.networking.istio.io`, `services`: the type in kubectl's NotFound messages. */
export function pluralTypeName(kind: string, apiVersion?: string): string {
  return withGroup(pluralizeKind(documentKind(kind).toLowerCase()), apiVersion);
}

/** kubectl's NotFound wording: `virtualservices.networking.istio.io "x" not found`. */
export function notFoundMessage(kind: string, name: string, apiVersion?: string): string {
  return `${pluralTypeName(kind, apiVersion)} "${name}" not found`;
}
