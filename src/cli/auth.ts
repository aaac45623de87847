/**
 * `weft auth`: operator credentials and what they may do. `create-credential` prints the secret once, alone on
 * stdout, so `weft auth create-credential ... > ci.credential` captures exactly it; `can-i` answers yes or no as
 * `kubectl auth can-i` does (exit status 1 for no), with the control plane's own decision.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { kindByName } from '../config/kinds/index.js';
import type { CredentialSummary } from '../control/api/credentials.js';
import { ALL_NAMESPACES, API_OBJECT_KINDS, API_VERBS, ROLE_NAMES, describePermission } from '../control/api/rbac.js';
import type { RoleBinding } from '../control/api/rbac.js';
import { WeftError } from '../errors.js';
import type { CliOutput } from './verb-failure.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import { namespaceName } from './flag-values.js';
import { formatTable } from './text-table.js';

/** Kinds the API serves besides resources; cluster-scoped except BootstrapToken. */
const CLUSTER_SCOPED = new Set(['AuditRecord', 'ProxyStatus', 'Credential']);

/** A CLI kind name (Kind, plural or short name of a resource kind, or an API object kind, any case) → the API's kind. */
export function authKind(cliName: string): string {
  const resource = kindByName(cliName)?.kind;
  if (resource !== undefined) return resource;
  const lower = cliName.toLowerCase();
  const object = API_OBJECT_KINDS.find((k) => lower === k.toLowerCase() || lower === `${k.toLowerCase()}s`);
  if (object !== undefined) return object;
  throw new WeftError('CONFIG_UNKNOWN_KIND', `the server doesn't have a resource type "${cliName}"`);
}

function bindingsText(bindings: readonly RoleBinding[]): string {
  const byRole = new Map<string, string[]>();
  for (const b of bindings) byRole.set(b.role, [...(byRole.get(b.role) ?? []), b.namespace === ALL_NAMESPACES ? '*' : b.namespace]);
  return [...byRole].map(([role, namespaces]) => `${role}(${namespaces.join(',')})`).join(' ');
}

function state(c: CredentialSummary, now: number): string {
  if (c.revokedAt !== undefined) return 'revoked';
  if (c.expiresAt !== undefined && Date.parse(c.expiresAt) <= now) return 'expired';
  return 'active';
}

export function formatCredentials(credentials: CredentialSummary[], now: number): string {
  return formatTable(
    ['NAME', 'ROLES', 'CREATED', 'EXPIRES', 'STATUS'],
    credentials.map((c) => [c.name, bindingsText(c.bindings), c.createdAt, c.expiresAt ?? 'never', state(c, now)]),
  );
}

function oneOf(values: readonly string[], what: string): (value: string) => string {
  return (value) => {
    if (!values.includes(value)) throw new InvalidArgumentError(`${what} must be one of ${values.join(', ')}.`);
    return value;
  };
}

const collectNamespace = (value: string, previous: string[] = []): string[] => [...previous, namespaceName(value)];

async function withClient(cmd: Command, body: (client: ControlClient) => Promise<void>): Promise<void> {
  const globals = cmd.optsWithGlobals<{ stateDir: string; credentialFile?: string }>();
  const client = await ControlClient.fromStateDir(globals.stateDir, globals);
  try {
    await body(client);
  } finally {
    await client.close();
  }
}

export function registerAuthCommand(program: Command, io: CliOutput = processOutput): void {
  const auth = program.command('auth').description('operator credentials, their roles, and what they may do');

  auth
    .command('create-credential')
    .description('issue a credential (mesh-admin only); the secret is printed once and never stored')
    .requiredOption('--role <role>', `one of ${ROLE_NAMES.join(', ')}`, oneOf(ROLE_NAMES, 'A role'))
    .option('-n, --namespace <namespace>', 'bind the role in this namespace; repeatable (default: every namespace)', collectNamespace, [])
    .option('--expires <duration>', 'lifetime, e.g. 30m, 12h, 720h (default: never)')
    .option('--name <name>', 'who acts with it, as audit records name them (default: ROLE-<random>)')
    .action(async (opts: { role: string; namespace: string[]; expires?: string; name?: string }, cmd: Command) =>
      runVerb(io, () =>
        withClient(cmd, async (client) => {
          const { secret, credential } = await client.createCredential({
            role: opts.role,
            namespaces: opts.namespace,
            ...(opts.expires === undefined ? {} : { expires: opts.expires }),
            ...(opts.name === undefined ? {} : { name: opts.name }),
          });
          io.out(`${secret}\n`);
          const expiry = credential.expiresAt === undefined ? 'does not expire' : `expires ${credential.expiresAt}`;
          io.err(`credential "${credential.name}" created: ${bindingsText(credential.bindings)}, ${expiry}; the secret above is shown only once\n`);
        }),
      ),
    );

  auth
    .command('list')
    .description('credentials with their roles, expiry and state (mesh-admin only); never a secret')
    .addOption(new Option('-o, --output <format>', 'json for machine-readable output').choices(['json']))
    .action(async (opts: { output?: string }, cmd: Command) =>
      runVerb(io, () =>
        withClient(cmd, async (client) => {
          const credentials = await client.credentials();
          io.out(opts.output === 'json' ? `${JSON.stringify({ credentials }, null, 2)}\n` : formatCredentials(credentials, Date.now()));
        }),
      ),
    );

  auth
    .command('revoke')
    .description('revoke a credential by name (mesh-admin only); it is refused from then on')
    .argument('<name>', 'the credential to revoke')
    .action(async (name: string, _opts: unknown, cmd: Command) =>
      runVerb(io, () =>
        withClient(cmd, async (client) => {
          const revoked = await client.revokeCredential(name);
          io.out(`credential "${revoked.name}" revoked\n`);
        }),
      ),
    );

  auth
    .command('can-i')
    .description('whether this credential may do VERB to KIND in a namespace: yes (exit 0) or no (exit 1)')
    .argument('<verb>', API_VERBS.join(', '), oneOf(API_VERBS, 'A verb'))
    .argument('<kind>', 'resource kind (Kind, plural or short name) or AuditRecord, ProxyStatus, Credential, BootstrapToken')
    .option('-n, --namespace <namespace>', 'namespace', namespaceName, 'default')
    .option('-A, --all-namespaces', 'across all namespaces')
    .action(async (verb: string, kindName: string, opts: { namespace: string; allNamespaces?: boolean }, cmd: Command) =>
      runVerb(io, async () => {
        const kind = authKind(kindName);
        const namespace = opts.allNamespaces === true || CLUSTER_SCOPED.has(kind) ? ALL_NAMESPACES : opts.namespace;
        await withClient(cmd, async (client) => {
          const decision = await client.canI({ verb, kind, namespace });
          if (decision.allowed) {
            io.out('yes\n');
            return;
          }
          io.out(`no - missing permission: ${describePermission(decision.missing)}\n`);
          process.exitCode = 1;
        });
      }),
    );
}
