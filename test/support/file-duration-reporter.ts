/**
 * A node:test reporter that writes each test file's wall time, slowest first, with its share of the per-file
 * timeout: scripts/test.sh sends it to test-results/file-durations.txt beside the usual report. A file is timed
 * from the runner starting it (its own dequeue event) to the last event it reports.
 */
import path from 'node:path';

interface TestEvent {
  type: string;
  data: { name?: string; file?: string };
}

const TIMEOUT_MS = Number(process.env['WEFT_TEST_TIMEOUT_MS'] ?? 180_000);

export default async function* fileDurations(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const started = new Map<string, number>();
  const last = new Map<string, number>();
  for await (const event of source) {
    const file = event.data.file;
    if (file === undefined) continue;
    const now = performance.now();
    if (event.type === 'test:dequeue' && event.data.name === file) started.set(file, now);
    last.set(file, now);
  }
  const rows = [...started].map(([file, t0]) => ({ file: path.relative(process.cwd(), file), ms: (last.get(file) ?? t0) - t0 }));
  rows.sort((a, b) => b.ms - a.ms);
  yield `# wall time per test file (timeout ${TIMEOUT_MS / 1000} s; a third is ${(TIMEOUT_MS / 3000).toFixed(0)} s)\n`;
  for (const r of rows) yield `${(r.ms / 1000).toFixed(1).padStart(7)} s  ${((100 * r.ms) / TIMEOUT_MS).toFixed(0).padStart(3)}%  ${r.file}\n`;
}
