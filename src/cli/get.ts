/**
 * `weft get KIND [NAME] [-n NS | -A] [-o yaml|json|wide] [--at TIME|REVISION]`: what the control plane stores (or
 * stored then, from history), printed the way
 * `kubectl get` prints it (same table layout, same AGE wording, same messages), so Istio users read it at once.
 */
import { secretForDisplay } from '../control/secrets/redact-secret.js';
import { formatTable } from './text-table.js';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { KINDS, kindByName } from '../config/kinds/index.js';
import type { KindInfo } from '../config/kinds/index.js';
import type { StoredResource } from '../control/store/types.js';
import { WeftError } from '../errors.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import type { CliOutput } from './verb-failure.js';
import { namespaceName } from './flag-values.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

interface Column {
  header: string;
  value: (r: StoredResource) => string;
}

/** kubectl's HumanDuration: coarser the older a thing is, never more than two units. */
export function humanAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${years}y` : `${years}y${days}d`;
  return `${years}y`;
}

/** kubectl's tabwriter: cells padded by 3, at least 6 wide, the last column unpadded. */

function field(r: StoredResource, ...path: string[]): unknown {
  let v: unknown = { spec: r.spec, status: r.status };
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

const text = (v: unknown, fallback = ''): string => (v === undefined || v === null ? fallback : String(v));
/** kubectl prints list-valued CRD columns as JSON arrays: `["bookinfo-gateway"]`. */
const jsonList = (v: unknown): string => (Array.isArray(v) && v.length > 0 ? JSON.stringify(v) : '');

function ports(v: unknown, portField: string): string {
  if (!Array.isArray(v) || v.length === 0) return '<none>';
  return v.map((p: Record<string, unknown>) => `${text(p[portField])}/${text(p['protocol'], 'TCP')}`).join(',');
}

function selector(v: unknown): string {
  const entries = typeof v === 'object' && v !== null ? Object.entries(v as Record<string, unknown>) : [];
  return entries.length === 0 ? '<none>' : entries.map(([k, val]) => `${k}=${text(val)}`).join(',');
}

/** The columns a kind adds between NAME and AGE, and those `-o wide` adds after AGE. */
const KIND_COLUMNS: Record<string, { main: Column[]; wide?: Column[] }> = {
  Workload: {
    main: [
      { header: 'STATUS', value: (r) => text(field(r, 'status', 'phase'), 'Pending') },
      { header: 'RESTARTS', value: (r) => text(field(r, 'status', 'restarts'), '0') },
      { header: 'POD-IP', value: (r) => text(field(r, 'status', 'podIP'), '<none>') },
    ],
    wide: [
      { header: 'SERVICE-ACCOUNT', value: (r) => text(field(r, 'spec', 'serviceAccount'), 'default') },
      { header: 'PORTS', value: (r) => ports(field(r, 'spec', 'ports'), 'containerPort') },
    ],
  },
  Service: {
    main: [
      { header: 'TYPE', value: (r) => text(field(r, 'spec', 'type'), 'ClusterIP') },
      { header: 'PORTS', value: (r) => ports(field(r, 'spec', 'ports'), 'port') },
    ],
    wide: [{ header: 'SELECTOR', value: (r) => selector(field(r, 'spec', 'selector')) }],
  },
  VirtualService: {
    main: [
      { header: 'GATEWAYS', value: (r) => jsonList(field(r, 'spec', 'gateways')) },
      { header: 'HOSTS', value: (r) => jsonList(field(r, 'spec', 'hosts')) },
    ],
  },
  DestinationRule: { main: [{ header: 'HOST', value: (r) => text(field(r, 'spec', 'host')) }] },
  ServiceEntry: {
    main: [
      { header: 'HOSTS', value: (r) => jsonList(field(r, 'spec', 'hosts')) },
      { header: 'LOCATION', value: (r) => text(field(r, 'spec', 'location')) },
      { header: 'RESOLUTION', value: (r) => text(field(r, 'spec', 'resolution')) },
    ],
  },
  PeerAuthentication: { main: [{ header: 'MODE', value: (r) => text(field(r, 'spec', 'mtls', 'mode')) }] },
  AuthorizationPolicy: { main: [{ header: 'ACTION', value: (r) => text(field(r, 'spec', 'action'), 'ALLOW') }] },
  // kubectl's columns; the values never leave the control plane (the stored form is sealed).
  Secret: {
    main: [
      { header: 'TYPE', value: (r) => text(field(r, 'spec', 'type'), 'Opaque') },
      { header: 'DATA', value: (r) => String((field(r, 'spec', 'sealed', 'keys') as unknown[] | undefined)?.length ?? 0) },
    ],
  },
  // kubectl's columns for the Gateway API kinds; conditions come from the status the control plane computes.
  GatewayClass: { main: [{ header: 'CONTROLLER', value: (r) => text(field(r, 'spec', 'controllerName')) }, { header: 'ACCEPTED', value: (r) => condition(r, 'Accepted') }] },
  KubernetesGateway: { main: [{ header: 'CLASS', value: (r) => text(field(r, 'spec', 'gatewayClassName')) }, { header: 'PROGRAMMED', value: (r) => condition(r, 'Programmed') }] },
  HTTPRoute: { main: [{ header: 'HOSTNAMES', value: (r) => jsonList(field(r, 'spec', 'hostnames')) }] },
  GRPCRoute: { main: [{ header: 'HOSTNAMES', value: (r) => jsonList(field(r, 'spec', 'hostnames')) }] },
  TLSRoute: { main: [{ header: 'HOSTNAMES', value: (r) => jsonList(field(r, 'spec', 'hostnames')) }] },
};

/** A status condition's status (True, False, Unknown), `Unknown` when the object has none of that type. */
function condition(r: StoredResource, type: string): string {
  const conditions = field(r, 'status', 'conditions');
  const found = Array.isArray(conditions) ? (conditions as { type?: unknown; status?: unknown }[]).find((c) => c.type === type) : undefined;
  return text(found?.status, 'Unknown');
}

export interface TableOptions {
  kind: string;
  allNamespaces: boolean;
  wide: boolean;
  /** Now, in ms, so AGE is testable. */
  now: number;
}

export function formatResourceTable(resources: StoredResource[], options: TableOptions): string {
  const cols = KIND_COLUMNS[options.kind] ?? { main: [] };
  const columns: Column[] = [
    ...(options.allNamespaces ? [{ header: 'NAMESPACE', value: (r: StoredResource) => r.metadata.namespace }] : []),
    { header: 'NAME', value: (r) => r.metadata.name },
    ...cols.main,
    { header: 'AGE', value: (r) => humanAge(options.now - Date.parse(r.metadata.creationTimestamp)) },
    ...(options.wide ? (cols.wide ?? []) : []),
  ];
  return formatTable(
    columns.map((c) => c.header),
    resources.map((r) => columns.map((c) => c.value(r))),
  );
}

/** `-o json|yaml`: one object as itself, several as kubectl's `List`. */
export function formatResourceDocument(found: StoredResource | StoredResource[], format: 'json' | 'yaml'): string {
  const shown = (r: StoredResource): unknown => secretForDisplay(asDocument(r) as unknown as Record<string, unknown>);
  const doc = Array.isArray(found) ? { apiVersion: 'v1', kind: 'List', items: found.map(shown), metadata: { resourceVersion: '' } } : shown(found);
  return format === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : toYaml(doc);
}

/** An object as its document is written: the Gateway API's Gateway is stored as KubernetesGateway. */
function asDocument(r: StoredResource): StoredResource {
  const documentKind = KINDS.find((k) => k.kind === r.kind && k.apiVersion === r.apiVersion)?.documentKind;
  return documentKind === undefined ? r : { ...r, kind: documentKind };
}

export function parseOutputFormat(raw: string | undefined): OutputFormat {
  if (raw === undefined) return 'table';
  if (raw === 'wide' || raw === 'json' || raw === 'yaml') return raw;
  throw new WeftError(
    'BAD_REQUEST',
    `unable to match a printer suitable for the output format "${raw}", allowed formats are: json,wide,yaml`,
  );
}

/** CLI kind name → its registry entry, or kubectl's complaint. */
export function resolveKind(cliName: string): KindInfo {
  const info = kindByName(cliName);
  if (info === undefined) {
    throw new WeftError('CONFIG_UNKNOWN_KIND', `the server doesn't have a resource type "${cliName}"`);
  }
  return info;
}

/** kubectl's message for an empty list. */
export function noResourcesMessage(namespace: string | undefined): string {
  return namespace === undefined || namespace === '' ? 'No resources found' : `No resources found in ${namespace} namespace.`;
}

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  at?: string;
}

export function registerGetCommand(program: Command, io: CliOutput = processOutput): void {
  program
    .command('get')
    .description('show resources stored by the control plane')
    .argument('<kind>', 'resource kind: Kind, plural or short name (e.g. vs, svc, wl)')
    .argument('[name]', 'one resource by name')
    .option('-n, --namespace <namespace>', 'namespace', namespaceName, 'default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-o, --output <format>', 'json, yaml or wide')
    .option('--at <time|revision>', 'show what existed at this RFC 3339 time or store revision')
    .action(async (kindName: string, name: string | undefined, opts: GetOptions, cmd: Command) =>
      runVerb(io, async () => {
        const format = parseOutputFormat(opts.output);
        const info = resolveKind(kindName);
        if (name !== undefined && opts.allNamespaces === true) {
          throw new WeftError('BAD_REQUEST', 'a resource cannot be retrieved by name across all namespaces');
        }
        const namespace = !info.namespaced ? '' : opts.allNamespaces === true ? undefined : (opts.namespace ?? 'default');
        const client = await ControlClient.fromStateDir(String(cmd.optsWithGlobals()['stateDir'] ?? '.weft'), cmd.optsWithGlobals());
        try {
          const found =
            name === undefined
              ? await client.list({ kind: info.kind, ...(namespace === undefined ? {} : { namespace }), ...(opts.at === undefined ? {} : { at: opts.at }) })
              : [await client.get({ kind: info.kind, namespace: namespace ?? '', name }, opts.at)];
          if (format === 'json' || format === 'yaml') {
            io.out(formatResourceDocument(name === undefined ? found : (found[0] as StoredResource), format));
          } else if (found.length === 0) {
            io.err(`${noResourcesMessage(namespace)}\n`);
          } else {
            const table = { kind: info.kind, allNamespaces: opts.allNamespaces === true, wide: format === 'wide', now: Date.now() };
            io.out(formatResourceTable(found, table));
          }
        } finally {
          await client.close();
        }
      }),
    );
}
