// Builds the native addons from source at `npm ci`. A machine without a compiler or Node's headers still gets a
// working install: the addons are optional, and what needs them (pods in network namespaces) says it is unavailable.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const addons = ['original-dst'];

function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  const bundled = path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

// Installed headers (include/node beside the running node) avoid a download: builds work offline.
function nodeDirArgs() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

if (process.platform !== 'linux') {
  console.warn('weft: native addons are Linux-only; skipped (pods in network namespaces are unavailable)');
  process.exit(0);
}
const [cmd, ...pre] = nodeGypCommand();
for (const addon of addons) {
  const dir = path.join(here, addon);
  const r = spawnSync(cmd, [...pre, 'rebuild', ...nodeDirArgs()], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) {
    console.log(`weft: built native addon ${addon}`);
  } else {
    const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
    console.warn(`weft: could not build native addon ${addon}; pods in network namespaces are unavailable\n${why}`);
  }
}
