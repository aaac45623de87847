/**
 * `node dist/bench/main.js [--smoke] [--out FILE]`: run the bench and write its results (bench/run.sh builds first
 * and installs the tools). The text of bench/what-limits-it.md is carried into the results under its heading.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench } from './run-bench.js';
import { renderResults } from './report.js';
import { REPO_ROOT } from './weft-mesh.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? (args[outIndex + 1] ?? '') : path.join(REPO_ROOT, 'bench', 'RESULTS.md');
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
const log = (line: string): void => console.error(`[${new Date().toISOString()}] ${line}`);
try {
  const results = await runBench({ mode: smoke ? 'smoke' : 'full', workDir, command: smoke ? 'bash bench/run.sh --smoke' : 'bash bench/run.sh', log });
  const notesFile = path.join(REPO_ROOT, 'bench', 'what-limits-it.md');
  const notes = fs.existsSync(notesFile) ? fs.readFileSync(notesFile, 'utf8').trim() : '';
  fs.writeFileSync(out, renderResults(results, notes));
  fs.writeFileSync(out.replace(/\.md$/, '.json'), `${JSON.stringify(results, (k, v: unknown) => (k === 'raw' ? undefined : v), 2)}\n`);
  log(`wrote ${out}`);
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
}
