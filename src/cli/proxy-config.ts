/**
 * `weft proxy-config WORKLOAD [routes|clusters|endpoints|listeners|secrets|all]`: what a proxy runs, as
 * `istioctl proxy-config` shows it. Routes, clusters and listeners come from the config the proxy ACKed (kept by the
 * control plane; a proxy that refused a newer one shows its last good one, and says so); endpoint health and
 * certificates from the proxy itself, asked through the control plane over its push stream.
 */
import type { Command } from 'commander';
import { Argument, Option } from 'commander';
import { stringify } from 'yaml';
import type { ProxyStatus } from '../control/push-server.js';
import type { RunningProxyConfig } from '../control/api/proxy-config-routes.js';
import type { ProxyRuntimeReport } from '../push/runtime-report.js';
import { ControlClient } from './client.js';
import { processOutput, runVerb } from './verb-failure.js';
import { namespaceName } from './flag-values.js';
import { parseProxyName, resolveProxyId } from './proxy-name.js';
import { clusterTable, endpointTable, heading, listenerTable, renderTable, routeTable, secretTable } from './proxy-config-rows.js';
import type { Table } from './proxy-config-rows.js';

const SECTIONS = ['routes', 'clusters', 'endpoints', 'listeners', 'secrets'] as const;
type Section = (typeof SECTIONS)[number];

function tableOf(section: Section, running: RunningProxyConfig, report: ProxyRuntimeReport | undefined, now: number): Table {
  switch (section) {
    case 'routes':
      return routeTable(running.config);
    case 'clusters':
      return clusterTable(running.config);
    case 'listeners':
      return listenerTable(running.config, running.proxy.podIP);
    case 'endpoints':
      return endpointTable(running.config, report!);
    case 'secrets':
      return secretTable(report!, now);
  }
}

export function registerProxyConfigCommand(program: Command): void {
  program
    .command('proxy-config')
    .description("what a proxy runs: the routes, clusters and listeners of the config it ACKed, its endpoints' health and its certificates")
    .argument('<workload>', 'workload name, namespace/name, or a proxy id as weft status prints it (gateway/ns/name)')
    .addArgument(new Argument('[section]', 'what to show').choices([...SECTIONS, 'all']).default('all'))
    .option('-n, --namespace <ns>', 'namespace of the workload', namespaceName)
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').choices(['table', 'json', 'yaml']).default('table'))
    .action(async (workload: string, section: Section | 'all', opts: { namespace?: string; output: 'table' | 'json' | 'yaml' }, cmd: Command) =>
      runVerb(processOutput, async () => {
        const { stateDir } = cmd.optsWithGlobals<{ stateDir: string }>();
        const client = await ControlClient.fromStateDir(stateDir, cmd.optsWithGlobals());
        try {
          const id = resolveProxyId(parseProxyName(workload, opts.namespace), (await client.proxies()) as ProxyStatus[]);
          const sections: Section[] = section === 'all' ? [...SECTIONS] : [section];
          const running = await client.proxyConfig(id);
          const report = sections.some((s) => s === 'endpoints' || s === 'secrets') ? await client.proxyRuntime(id) : undefined;
          const tables = sections.map((s) => [s, tableOf(s, running, report, Date.now())] as const);
          if (opts.output === 'table') {
            const body = tables.map(([s, t]) => (sections.length > 1 ? `${s.toUpperCase()}\n` : '') + renderTable(t)).join('\n');
            processOutput.out(`${heading(running, report).join('\n')}\n${body}`);
            return;
          }
          const data = {
            proxy: running.proxy.id,
            configVersion: running.config.version,
            ackedAt: running.ackedAt,
            nacked: running.nacked,
            ...(report === undefined ? {} : { runningVersion: report.configVersion }),
            ...Object.fromEntries(tables.map(([s, t]) => [s, t.items])),
          };
          processOutput.out(opts.output === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data));
        } finally {
          await client.close();
        }
      }),
    );
}
