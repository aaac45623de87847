/**
 * Where a self-made root lives between control-plane restarts: `root-cert.pem` and `root-key.pem` in a state
 * directory only the control plane's user can read. Losing the key means re-issuing every SVID and every
 * peer's trust bundle, so an existing pair is always reused and never overwritten.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeftError } from '../errors.js';
import type { RootCaPem } from './root-ca.js';

export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WeftError('CA_INVALID', `cannot read ${path}`, { cause: err });
  }
}

/** Loads the root pair from `dir`, or makes one with `create` and stores it (dir 0700, key 0600). */
export async function loadOrCreateRootFiles(
  dir: string,
  create: () => Promise<RootCaPem>,
): Promise<{ root: RootCaPem; created: boolean }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, ROOT_CERT_FILE);
  const keyPath = join(dir, ROOT_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined) return { root: { certPem, keyPem }, created: false };
  if (certPem !== undefined || keyPem !== undefined) {
    const missing = certPem === undefined ? certPath : keyPath;
    throw new WeftError('CA_INVALID', `CA state in ${dir} is incomplete: ${missing} is missing; refusing to replace the other half`);
  }
  const root = await create();
  await chmod(dir, 0o700);
  // Key first with 'wx': a concurrent starter fails here instead of silently replacing a key in use.
  await writeFile(keyPath, root.keyPem, { mode: 0o600, flag: 'wx' });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, root.certPem, { mode: 0o644, flag: 'wx' });
  return { root, created: true };
}
