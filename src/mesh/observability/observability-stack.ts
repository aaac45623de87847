/**
 * `weft up --prometheus`: Debian's Prometheus scraping every sidecar and the control plane through file-based
 * discovery that follows mesh.json, with the mesh's rules, alerting Debian's Alertmanager. Both listen on ports
 * chosen free on 127.0.0.1, keep their data in a temporary directory removed at stop, and run supervised like every
 * other process of the mesh.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { MeshFile } from '../mesh-file.js';
import { SupervisedProcess } from '../process-supervisor.js';
import { meshRuleGroups } from './mesh-rules.js';
import { scrapeTargets } from './scrape-targets.js';

export interface ObservabilityOptions {
  prometheusPort: number;
  alertmanagerPort: number;
  /** Scrape and rule evaluation interval, e.g. `15s`. */
  interval: string;
  logDir: string;
  /** The environment that marks a process as this mesh's (for leftover cleanup). */
  env: NodeJS.ProcessEnv;
  /** Every control-plane replica's metrics listener, the first replica first. */
  controlMetrics: readonly string[];
}

export interface ObservabilityStack {
  prometheus: string;
  alertmanager: string;
  /** Rewrite the scrape targets from the mesh as it is now. */
  follow(mesh: MeshFile): void;
  stop(): Promise<void>;
}

function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

export async function startObservability(o: ObservabilityOptions): Promise<ObservabilityStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-prometheus-'));
  const prometheus = `127.0.0.1:${o.prometheusPort}`;
  const alertmanager = `127.0.0.1:${o.alertmanagerPort}`;
  const files = { sidecars: path.join(dir, 'sidecars.json'), control: path.join(dir, 'control.json'), rules: path.join(dir, 'mesh-rules.yml') };
  writeAtomically(files.sidecars, '[]');
  writeAtomically(files.control, '[]');
  fs.writeFileSync(files.rules, YAML.stringify(meshRuleGroups()));
  const refresh = `${Math.max(1, Math.round(parseSeconds(o.interval)))}s`;
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    YAML.stringify({
      global: { scrape_interval: o.interval, evaluation_interval: o.interval },
      rule_files: [files.rules],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] },
      scrape_configs: [
        { job_name: 'envoy-stats', metrics_path: '/stats/prometheus', file_sd_configs: [{ files: [files.sidecars], refresh_interval: refresh }] },
        { job_name: 'pilot', metrics_path: '/metrics', file_sd_configs: [{ files: [files.control], refresh_interval: refresh }] },
      ],
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'alertmanager.yml'),
    YAML.stringify({ route: { receiver: 'mesh', group_by: ['alertname'], group_wait: '0s', group_interval: '1m', repeat_interval: '4h' }, receivers: [{ name: 'mesh' }] }),
  );
  fs.mkdirSync(path.join(dir, 'tsdb'));
  fs.mkdirSync(path.join(dir, 'alertmanager'));
  const am = new SupervisedProcess({
    name: 'alertmanager',
    command: 'prometheus-alertmanager',
    args: [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'alertmanager')}`, `--web.listen-address=${alertmanager}`, '--cluster.listen-address='],
    env: o.env,
    logFile: path.join(o.logDir, 'alertmanager.log'),
  }, {});
  const prom = new SupervisedProcess({
    name: 'prometheus',
    command: 'prometheus',
    args: [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=${prometheus}`, '--rules.alert.resend-delay=1s'],
    env: o.env,
    logFile: path.join(o.logDir, 'prometheus.log'),
  }, {});
  await am.start();
  await prom.start();
  return {
    prometheus,
    alertmanager,
    follow(mesh) {
      const t = scrapeTargets(mesh, o.controlMetrics);
      writeAtomically(files.sidecars, JSON.stringify(t.sidecars));
      writeAtomically(files.control, JSON.stringify(t.control));
    },
    async stop() {
      await Promise.all([prom.stop(), am.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function parseSeconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  if (!m) return 15;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}
