/**
 * A test file's own cleanup (removing its state directory, a mesh's last traces), run from `after` as usual and on
 * SIGTERM/SIGINT as well: a file cancelled for overrunning its timeout gets SIGTERM and runs no `after` hook.
 * Registered at the top of a file, it runs after the meshes and networks the file made are stopped.
 */
import { after } from 'node:test';
import { onTeardown } from '../../bench/teardown.js';

export function cleanup(what: string, fn: () => Promise<void> | void): void {
  const unregister = onTeardown({ what, stop: fn });
  after(async () => {
    unregister();
    await fn();
  });
}
