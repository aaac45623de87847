/**
 * `weft authz check` and `weft authz list`: the proxy's own authorization engine, run offline on policy files or
 * on the running mesh's policies, so the answer is the one the sidecar would give and names the deciding policy.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadResources } from '../config/load.js';
import type { Resource } from '../config/resource.js';
import type { AuthorizationPolicySpec } from '../config/kinds/authorization-policy.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import type { MeshConfigSpec, MeshSettings } from '../config/kinds/mesh-config.js';
import { compileAuthorizationPolicies, formatDecision, listApplicablePolicies, parseRequestFile } from '../authz/index.js';
import type { AuthzPolicyInput } from '../authz/index.js';
import { WeftError } from '../errors.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import type { CredentialSource } from './control-plane-locator.js';
import { collectExistingPaths, existingFile, namespaceName } from './flag-values.js';
import { formatTable } from './text-table.js';

interface PolicySource {
  policies: AuthzPolicyInput[];
  mesh: MeshSettings;
  workloads: Resource[];
}

function fromResources(resources: Resource[]): PolicySource {
  const meshConfig = resources.find((r) => r.kind === 'MeshConfig');
  return {
    policies: resources
      .filter((r) => r.kind === 'AuthorizationPolicy')
      .map((r) => ({ namespace: r.metadata.namespace, name: r.metadata.name, annotations: r.metadata.annotations, spec: r.spec as AuthorizationPolicySpec })),
    mesh: meshConfigWithDefaults(meshConfig?.spec as MeshConfigSpec | undefined),
    workloads: resources.filter((r) => r.kind === 'Workload'),
  };
}

async function policySource(files: string[], stateDir: string, credential: CredentialSource): Promise<PolicySource> {
  if (files.length > 0) return fromResources((await loadResources(files)).map((l) => l.resource));
  const client = await ControlClient.fromStateDir(stateDir, credential);
  try {
    const [policies, meshConfigs, workloads] = await Promise.all([
      client.list({ kind: 'AuthorizationPolicy' }),
      client.list({ kind: 'MeshConfig' }),
      client.list({ kind: 'Workload' }),
    ]);
    return fromResources([...policies, ...meshConfigs, ...workloads]);
  } finally {
    await client.close();
  }
}

export function registerAuthzCommand(program: Command): void {
  const authz = program.command('authz').description("explain authorization decisions with the sidecar's own engine");

  authz
    .command('check')
    .description('evaluate a request against policy files (-f) or the running mesh, and say which policy decides')
    .option('-f, --filename <path>', 'policy file or directory; repeatable (default: the running mesh)', collectExistingPaths, [])
    .requiredOption('--request <file>', 'the request to judge (YAML: destination, source, connection, request, auth)', existingFile)
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (opts: { filename: string[]; request: string; output: 'text' | 'json' }, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const source = await policySource(opts.filename, stateDir, cmd.optsWithGlobals());
        const text = await readFile(opts.request, 'utf8').catch((err: Error) => {
          throw new WeftError('CONFIG_READ', `${opts.request}: ${err.message}`);
        });
        const parsed = parseRequestFile(text, { file: opts.request, pathNormalization: source.mesh.pathNormalization.normalization });
        const engine = compileAuthorizationPolicies(source.policies, {
          rootNamespace: source.mesh.rootNamespace,
          workloadNamespace: parsed.workloadNamespace,
          workloadLabels: parsed.workloadLabels,
          trustDomain: source.mesh.trustDomain,
          trustDomainAliases: source.mesh.trustDomainAliases,
        });
        processOutput.out(`${formatDecision(engine.evaluate(parsed.request), opts.output)}\n`);
      }),
    );

  authz
    .command('list')
    .description('the policies that apply to a workload of the running mesh (or of -f files), in evaluation order')
    .argument('<workload>', 'workload name, or namespace/name')
    .option('-n, --namespace <ns>', 'namespace of the workload', namespaceName, 'default')
    .option('-f, --filename <path>', 'read policies and workloads from files instead of the running mesh', collectExistingPaths, [])
    .action(async (workload: string, opts: { namespace: string; filename: string[] }, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const [ns, name] = workload.includes('/') ? (workload.split('/', 2) as [string, string]) : [opts.namespace, workload];
        const source = await policySource(opts.filename, stateDir, cmd.optsWithGlobals());
        const w = source.workloads.find((r) => r.metadata.namespace === ns && r.metadata.name === name);
        if (!w) throw new WeftError('NOT_FOUND', `workloads.weft.dev "${name}" not found in namespace ${ns}`);
        const applicable = listApplicablePolicies(source.policies, {
          rootNamespace: source.mesh.rootNamespace,
          workloadNamespace: ns,
          workloadLabels: w.metadata.labels,
        });
        if (applicable.length === 0) {
          processOutput.out(`No AuthorizationPolicy applies to ${ns}/${name}: every request not denied is allowed.\n`);
          return;
        }
        const rows = applicable.map((p, i) => [String(i + 1), p.action, p.policy, p.reach, String(p.rules), p.dryRun ? 'yes' : 'no', p.provider ?? '-']);
        processOutput.out(formatTable(['#', 'ACTION', 'POLICY', 'REACH', 'RULES', 'DRY-RUN', 'PROVIDER'], rows));
      }),
    );
}
