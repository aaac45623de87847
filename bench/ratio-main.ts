/**
 * `node dist/bench/ratio-main.js [--tree DIR]... [--passes N] [--rounds N] [--seconds S]`: the same-run ratio of
 * weft to the nginx pair (HTTP/1.1, wrk, closed loop), interleaved rounds per mesh, and the trees given (checkouts
 * with `dist/` built; default this one) alternated pass by pass, so that two trees meet the machine's load alike.
 * Each tree's own `weft up` runs its mesh; the nginx pair and the load are this checkout's. Prints JSON lines per
 * round and a summary table of medians.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDataPlanePaths } from './data-plane-paths.js';
import type { MeshStarter } from './data-plane-paths.js';
import { interleavedRatio, median } from './interleaved-ratio.js';
import type { RatioRun } from './interleaved-ratio.js';
import { REPO_ROOT } from './weft-mesh.js';
import { execFileSync } from 'node:child_process';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const trees = process.argv.flatMap((a, i) => (a === '--tree' ? [path.resolve(process.argv[i + 1] ?? '')] : []));
if (trees.length === 0) trees.push(REPO_ROOT);
const passes = option('--passes', 1);
const rounds = option('--rounds', 5);
const seconds = option('--seconds', 10);
const log = (line: string): void => console.error(`[${new Date().toISOString()}] ${line}`);
const loadAvg = (): number => os.loadavg()[0]!;

/** A checkout named by its commit (`-dirty` with local changes), so a table says which code it measured. */
function commitOf(tree: string): string {
  try {
    return execFileSync('git', ['-C', tree, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
  } catch {
    return path.basename(tree);
  }
}

async function starterOf(tree: string): Promise<MeshStarter> {
  const mod = (await import(path.join(tree, 'dist', 'bench', 'weft-mesh.js'))) as { weftUp: MeshStarter };
  return mod.weftUp;
}

const results = new Map<string, RatioRun[]>(trees.map((t) => [t, []]));
for (let pass = 0; pass < passes; pass++) {
  for (const tree of pass % 2 === 0 ? trees : [...trees].reverse()) {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ratio-'));
    try {
      log(`pass ${pass + 1}: ${tree}`);
      const setup = await startDataPlanePaths(workDir, log, await starterOf(tree));
      try {
        const run = await interleavedRatio(setup, { rounds, seconds, warmupSeconds: 3, connections: 32, loadAvg, log });
        results.get(tree)!.push(run);
        console.log(JSON.stringify({ tree: commitOf(tree), pass: pass + 1, ...run }));
      } finally {
        await setup.stop();
      }
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }
}

const f = (n: number, d = 3): string => n.toFixed(d);
console.log('\n| tree | rounds | weft / nginx, median (min-max) | weft rps | nginx rps | CPU s per 1000 requests, client / server sidecar (nginx pair) | load avg |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [tree, runs] of results) {
  const all = runs.flatMap((r) => r.rounds);
  if (all.length === 0) continue;
  const ratios = all.map((r) => r.ratio);
  const m = (g: (r: (typeof all)[number]) => number): number => median(all.map(g));
  console.log(
    `| ${commitOf(tree)} | ${all.length} | ${f(median(ratios))} (${f(Math.min(...ratios))}-${f(Math.max(...ratios))}) | ${f(m((r) => r.weftRps), 0)} | ${f(m((r) => r.nginxRps), 0)} | ${f(m((r) => r.weftCpu[0]), 4)} / ${f(m((r) => r.weftCpu[1]), 4)} (${f(m((r) => r.nginxCpu[0]), 4)} / ${f(m((r) => r.nginxCpu[1]), 4)}) | ${f(Math.min(...all.map((r) => r.loadAvg)), 1)}-${f(Math.max(...all.map((r) => r.loadAvg)), 1)} |`,
  );
}
