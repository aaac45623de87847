/**
 * `weft route check`: where a request from a workload would go, evaluated with the proxy's own compiled config and
 * route engine, offline on YAML files (-f, compiled as the control plane compiles them) or on the running mesh (the
 * config the workload's proxy ACKed). Shaped like `weft authz check`.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { acceptProxyConfig } from '../proxy/config/compiled-config.js';
import type { CompiledProxyConfig } from '../proxy/config/compiled-config.js';
import { checkedRequest } from '../route-check/checked-request.js';
import { explainRoute } from '../route-check/explain-route.js';
import { formatExplanation } from '../route-check/format-explanation.js';
import { WeftError } from '../errors.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import type { CredentialSource } from './control-plane-locator.js';
import { collectExistingPaths, collectHeaderLines, collectQueryParams, httpMethod, namespaceName } from './flag-values.js';
import { parseProxyName, resolveProxyId } from './proxy-name.js';
import type { ProxyName } from './proxy-name.js';
import type { ProxyStatus } from '../control/push-server.js';

interface CheckFlags {
  from: string;
  namespace?: string;
  filename: string[];
  path?: string;
  method: string;
  header: string[];
  query: string[];
  output: 'text' | 'json';
}

/** The running proxy's ACKed config, and a line saying which it is (and whether a newer one was refused). */
async function meshConfig(who: ProxyName, stateDir: string, credential: CredentialSource): Promise<{ cfg: CompiledProxyConfig; source: string }> {
  const client = await ControlClient.fromStateDir(stateDir, credential);
  try {
    const id = resolveProxyId(who, (await client.proxies()) as ProxyStatus[]);
    const running = await client.proxyConfig(id);
    const refused = running.nacked ? `; refused ${running.nacked.version}: ${running.nacked.reason}` : '';
    return { cfg: acceptProxyConfig(running.config), source: `ACKed ${running.ackedAt}${refused}` };
  } finally {
    await client.close();
  }
}

export function registerRouteCommand(program: Command): void {
  const route = program.command('route').description("explain routing decisions with the proxies' own route engine");
  route
    .command('check')
    .description('where a request from a workload would go: matched VirtualService rule, destinations and subsets, DestinationRule policy, timeout, retries, fault, mirrors')
    .argument('<target>', 'a URL (http://reviews:9080/path?q=1) or host[:port] with --path')
    .requiredOption('--from <workload>', 'the workload sending the request: name, namespace/name, or a proxy id (sidecar/ns/name, gateway/ns/name)')
    .option('-n, --namespace <ns>', 'namespace of the workload', namespaceName)
    .option('-f, --filename <path>', 'YAML file or directory; repeatable (default: the running mesh)', collectExistingPaths, [])
    .option('--path <path>', 'request path (with a host[:port] target)')
    .option('-X, --method <method>', 'request method', httpMethod, 'GET')
    .option('-H, --header <header>', '"name: value"; repeatable', collectHeaderLines, [])
    .option('--query <name=value>', 'query parameter; repeatable', collectQueryParams, [])
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (target: string, opts: CheckFlags, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const request = checkedRequest({ target, method: opts.method, headers: opts.header, query: opts.query, ...(opts.path === undefined ? {} : { path: opts.path }) });
        const who = parseProxyName(opts.from, opts.namespace);
        let cfg: CompiledProxyConfig;
        let source: string;
        if (opts.filename.length > 0) {
          if (who.role === 'gateway') throw new WeftError('BAD_REQUEST', 'offline, route check runs from a Workload; check a gateway on the running mesh');
          // The control plane's compile is loaded only offline: on the mesh the proxy's ACKed config is used.
          const { sidecarConfigFromFiles } = await import('../route-check/config-source.js');
          cfg = await sidecarConfigFromFiles(opts.filename, who.namespace ?? 'default', who.name);
          source = 'compiled from files';
        } else ({ cfg, source } = await meshConfig(who, stateDir, cmd.optsWithGlobals()));
        const explanation = explainRoute(cfg, request, { endpointsKnown: opts.filename.length === 0 });
        processOutput.out(opts.output === 'json' ? `${JSON.stringify({ source, ...explanation }, null, 2)}\n` : formatExplanation(explanation, source));
      }),
    );
}
