/**
 * sleep: a client pod that runs nothing of its own. People `weft exec sleep -- curl ...` from it to call
 * services as a meshed workload would (through its sidecar, with its identity). It waits for SIGTERM.
 */

// The event loop needs one pending timer or the process would exit at once.
const keepAlive = setInterval(() => undefined, 2 ** 30);

function stop(): void {
  clearInterval(keepAlive);
  process.exit(0);
}

process.once('SIGTERM', stop);
process.once('SIGINT', stop);
console.log(`sleep ready in ${process.env.POD_NAME ?? 'sleep'}: waiting for SIGTERM`);

export {};
