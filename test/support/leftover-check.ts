/**
 * `node dist/test/support/leftover-check.js sweep|check`, run by scripts/test.sh around the suite.
 * sweep: remove what an earlier, killed run left, so it cannot disturb this one.
 * check: after the suite, give stopping meshes a moment to finish, then name every leftover, remove it, and fail.
 */
import { describeLeftover, findLeftovers, removeLeftover } from './leftovers.js';

/** Meshes whose starter just ended notice within a second and stop within a few. */
const SETTLE_MS = 30_000;

async function main(mode: string | undefined): Promise<number> {
  if (mode !== 'sweep' && mode !== 'check') {
    process.stderr.write('usage: leftover-check sweep|check\n');
    return 2;
  }
  let leftovers = await findLeftovers();
  for (const deadline = Date.now() + SETTLE_MS; mode === 'check' && leftovers.length > 0 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 500));
    leftovers = await findLeftovers();
  }
  const found = leftovers.length;
  // Removing a mesh's `weft up` orphans its apps in turn: a few rounds take the whole tree.
  for (let round = 0; round < 5 && leftovers.length > 0; round++) {
    for (const l of leftovers) {
      if (mode === 'check') process.stderr.write(`left behind by the suite: ${describeLeftover(l)}\n`);
      await removeLeftover(l);
    }
    await new Promise((r) => setTimeout(r, 200));
    leftovers = await findLeftovers();
  }
  if (mode === 'sweep' && found > 0) process.stdout.write(`removed leftovers of an earlier run\n`);
  return mode === 'check' && found > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv[2]);
