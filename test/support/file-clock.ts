/**
 * Loaded into every test file's process (scripts/test.sh passes `--import` to node's runner, which hands its own
 * flags to the files it runs): at exit, the file's wall time from process start is appended to
 * test-results/file-durations.tsv. Timed inside the file's own process because the runner reports concurrent
 * files' events late, in order. Anything else node runs (meshes, apps) is not a test file and is left alone.
 */
import fs from 'node:fs';
import path from 'node:path';

const file = process.argv[1];
if (process.env['NODE_TEST_CONTEXT'] !== undefined && file !== undefined && file.endsWith('.test.js')) {
  process.on('exit', () => {
    const seconds = (performance.now() / 1000).toFixed(1);
    fs.mkdirSync('test-results', { recursive: true });
    fs.appendFileSync(path.join('test-results', 'file-durations.tsv'), `${seconds}\t${path.relative(process.cwd(), file)}\n`);
  });
}
