/** The open-loop generator as its own process, so it can be pinned to the load generator's core. */
import { openLoop } from './open-loop.js';
import type { OpenLoopOptions } from './open-loop.js';

const options = JSON.parse(process.argv[2] ?? '{}') as OpenLoopOptions;
const result = await openLoop(options);
process.stdout.write(`${JSON.stringify(result)}\n`);
