/**
 * Who may do what through the API, in Kubernetes RBAC's shape: a fixed set of roles (ClusterRoles), each a list of
 * rules (verbs × kinds), and a principal's bindings of a role to one namespace or to all of them (RoleBinding or
 * ClusterRoleBinding). `authorize` is the one decision; the API, `weft auth can-i` and the tests all call it.
 */

export const API_VERBS = ['get', 'list', 'watch', 'create', 'update', 'delete'] as const;
export type ApiVerb = (typeof API_VERBS)[number];

export const ROLE_NAMES = ['viewer', 'editor', 'policy-admin', 'auditor', 'mesh-admin'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** A binding's namespace that covers every namespace; also the namespace of a cluster-wide request. */
export const ALL_NAMESPACES = '*';

export interface RoleBinding {
  role: RoleName;
  /** One namespace, or ALL_NAMESPACES. */
  namespace: string;
}

export interface Principal {
  /** The actor named in audit records. */
  name: string;
  bindings: readonly RoleBinding[];
}

/** Workload and traffic configuration: what an editor changes. */
export const CONFIG_KINDS = [
  'Service', 'Workload', 'Gateway', 'VirtualService', 'DestinationRule', 'ServiceEntry', 'Sidecar',
  // The Gateway API: traffic configuration like Istio's Gateway and VirtualService (a ReferenceGrant is written in the namespace it opens).
  'KubernetesGateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'ReferenceGrant',
] as const;
/**
 * Who may talk to whom and how callers are authenticated or limited: what only a policy-admin changes. Telemetry is
 * here because it can turn off or filter the access log that audits rely on.
 */
export const SECURITY_KINDS = ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication', 'LocalRateLimitPolicy', 'Secret', 'Telemetry'] as const;
/** Mesh-wide settings and claims on hosts (a claim can fence other namespaces out): readable like any resource, changed only by a mesh-admin. */
export const MESH_KINDS = ['MeshConfig', 'HostClaim', 'GatewayClass'] as const;
/**
 * What the API serves besides resources. AuditRecord, ProxyStatus and Credential are cluster-scoped (asked for in
 * ALL_NAMESPACES); a BootstrapToken is created in the namespace of the workload it lets join.
 */
export const API_OBJECT_KINDS = ['AuditRecord', 'ProxyStatus', 'Credential', 'BootstrapToken'] as const;

const RESOURCE_KINDS: readonly string[] = [...CONFIG_KINDS, ...SECURITY_KINDS, ...MESH_KINDS];
const READ: readonly ApiVerb[] = ['get', 'list', 'watch'];
const WRITE: readonly ApiVerb[] = ['create', 'update', 'delete'];

interface Rule {
  verbs: readonly ApiVerb[];
  /** Kinds, or '*' for every kind including ones this table does not know. */
  kinds: readonly string[] | '*';
}

const READ_RESOURCES: Rule = { verbs: READ, kinds: [...RESOURCE_KINDS, 'ProxyStatus'] };

/** The built-in roles. A kind missing from every rule (say a kind added later) is mesh-admin's alone. */
export const ROLES: Readonly<Record<RoleName, readonly Rule[]>> = {
  viewer: [READ_RESOURCES],
  editor: [READ_RESOURCES, { verbs: WRITE, kinds: CONFIG_KINDS }],
  'policy-admin': [READ_RESOURCES, { verbs: WRITE, kinds: SECURITY_KINDS }],
  auditor: [READ_RESOURCES, { verbs: READ, kinds: ['AuditRecord'] }],
  'mesh-admin': [{ verbs: API_VERBS, kinds: '*' }],
};

export interface Permission {
  verb: ApiVerb;
  kind: string;
  namespace: string;
}

export type Decision = { allowed: true; role: RoleName } | { allowed: false; missing: Permission; reason: string };

const isWrite = (verb: ApiVerb): boolean => WRITE.includes(verb);

function ruleGrants(rule: Rule, verb: ApiVerb, kind: string): boolean {
  return rule.verbs.includes(verb) && (rule.kinds === '*' || rule.kinds.includes(kind));
}

/**
 * Whether a binding's role grants the request in the binding's namespace. Two limits sit above the rules: a
 * namespaced binding never reaches a cluster-wide request, and a change in the root namespace (mesh-wide policy)
 * is mesh-admin's alone, whatever the binding says.
 */
function bindingGrants(binding: RoleBinding, p: Permission, rootNamespace: string): boolean {
  if (binding.namespace !== ALL_NAMESPACES && binding.namespace !== p.namespace) return false;
  if (binding.role !== 'mesh-admin' && p.namespace === rootNamespace && isWrite(p.verb)) return false;
  return ROLES[binding.role].some((rule) => ruleGrants(rule, p.verb, p.kind));
}

function describeBindings(bindings: readonly RoleBinding[]): string {
  if (bindings.length === 0) return 'no roles';
  return bindings.map((b) => `${b.role} in ${b.namespace === ALL_NAMESPACES ? 'all namespaces' : b.namespace}`).join(', ');
}

export function describePermission(p: Permission): string {
  return `${p.verb} ${p.kind} in ${p.namespace === ALL_NAMESPACES ? 'all namespaces' : `namespace ${p.namespace}`}`;
}

/** The one authorization decision: may `principal` do `verb` to `kind` in `namespace`? Pure. */
export function authorize(principal: Principal, verb: ApiVerb, kind: string, namespace: string, rootNamespace: string): Decision {
  const p: Permission = { verb, kind, namespace };
  const granting = principal.bindings.find((b) => bindingGrants(b, p, rootNamespace));
  if (granting !== undefined) return { allowed: true, role: granting.role };
  const why = namespace === rootNamespace && isWrite(verb) ? ' (changes in the root namespace need mesh-admin)' : '';
  return {
    allowed: false,
    missing: p,
    reason: `${principal.name} (${describeBindings(principal.bindings)}) lacks permission to ${describePermission(p)}${why}`,
  };
}

export function isApiVerb(v: string): v is ApiVerb {
  return (API_VERBS as readonly string[]).includes(v);
}

export function isRoleName(v: string): v is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(v);
}
