/**
 * `node dist/bench/main.js [--smoke] [--out FILE]`: run the bench and write its results (bench/run.sh builds first
 * and installs the tools). The text of bench/what-limits-it.md is carried into the results, and that of
 * bench/h2-grpc-limits.md under the HTTP/2 and gRPC section.
 * `--render` rewrites FILE from the figures kept beside it (FILE with .json) without running anything, so the
 * analysis can be written after the run that it quotes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench } from './run-bench.js';
import { renderResults } from './report.js';
import type { BenchResults } from './report.js';
import { REPO_ROOT } from './weft-mesh.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? (args[outIndex + 1] ?? '') : path.join(REPO_ROOT, 'bench', 'RESULTS.md');
const figuresFile = out.replace(/\.md$/, '.json');
const log = (line: string): void => console.error(`[${new Date().toISOString()}] ${line}`);

function write(results: BenchResults): void {
  const notesFile = path.join(REPO_ROOT, 'bench', 'what-limits-it.md');
  const notes = fs.existsSync(notesFile) ? fs.readFileSync(notesFile, 'utf8').trim() : '';
  const h2NotesFile = path.join(REPO_ROOT, 'bench', 'h2-grpc-limits.md');
  const h2Notes = fs.existsSync(h2NotesFile) ? fs.readFileSync(h2NotesFile, 'utf8').trim() : '';
  fs.writeFileSync(out, renderResults(results, notes, h2Notes));
  log(`wrote ${out}`);
}

if (args.includes('--render')) {
  write(JSON.parse(fs.readFileSync(figuresFile, 'utf8')) as BenchResults);
} else {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
  try {
    const results = await runBench({ mode: smoke ? 'smoke' : 'full', workDir, command: smoke ? 'bash bench/run.sh --smoke' : 'bash bench/run.sh', log });
    // wrk's and h2load's full output stays out of the kept figures; the parsed numbers and commands are there.
    fs.writeFileSync(figuresFile, `${JSON.stringify(results, (k, v: unknown) => (k === 'raw' ? undefined : v), 2)}\n`);
    write(results);
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}
