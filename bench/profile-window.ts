/**
 * `node dist/bench/profile-window.js FILE.cpuprofile START_US END_US [TOP]`: the top self time of a `--cpu-prof`
 * profile within a window of the monotonic clock (V8's profile timestamps and `process.hrtime` share it on Linux),
 * e.g. from the apply of a change to its last ACK, which the scale bench prints as `changeWindowUs`.
 */
import fs from 'node:fs';
import type { CpuProfile } from './cpu-profile.js';

interface TimedProfile extends CpuProfile {
  timeDeltas?: number[];
}

const [file, startText, endText, topText] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file ?? '', 'utf8')) as TimedProfile;
const start = Number(startText);
const end = Number(endText);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let t = profile.startTime;
let total = 0;
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++) {
  const dt = deltas[i + 1] ?? 0;
  t += deltas[i] ?? 0;
  if (t < start || t > end) continue;
  const node = byId.get(samples[i] as number);
  if (node === undefined) continue;
  const f = node.callFrame;
  const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
  selfUs.set(name, (selfUs.get(name) ?? 0) + dt);
  total += dt;
}
const rows = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topText ?? 25));
process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled in the window (${((end - start) / 1000).toFixed(0)} ms long)\n`);
for (const [name, us] of rows) process.stdout.write(`${(us / 1000).toFixed(1).padStart(8)} ms  ${((100 * us) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${name}\n`);
