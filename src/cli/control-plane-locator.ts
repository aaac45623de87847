/**
 * Where a CLI verb finds the control plane and what it acts with: the running mesh's address from the state
 * directory (or WEFT_CONTROL_ADDRESS for a control plane `weft up` did not start), the credential, and the CA to
 * trust. MESH_NOT_RUNNING when there is no mesh, or the one the state directory names has died.
 */
import { readFile } from 'node:fs/promises';
import { WeftError, isWeftError } from '../errors.js';
import type { MeshFile } from '../mesh/mesh-file.js';
import { processAlive } from '../mesh/process-alive.js';
import { stateDirLayout } from '../mesh/state-dir.js';

/**
 * Where the CLI's credential comes from, first found wins: `--credential-file`, then WEFT_CREDENTIAL, then the
 * mesh-admin credential `weft up` wrote to the state directory.
 */
export interface CredentialSource {
  credentialFile?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** What a client needs to reach the control plane's API. */
export interface ControlPlaneLocation {
  /** host:port of the control plane's API. */
  address: string;
  /**
   * The other replicas' API addresses. Each proxy is connected to one replica, which alone reports it: what is asked
   * of proxies (their list, a proxy's config) is asked of every replica.
   */
  peers?: string[];
  credential: string;
  /** PEM of the CA that issued the API's certificate. */
  caPem: string;
}

async function readCredential(stateDirFile: string, source: CredentialSource): Promise<string> {
  if (source.credentialFile !== undefined) {
    try {
      return (await readFile(source.credentialFile, 'utf8')).trim();
    } catch (err) {
      throw new WeftError('BAD_REQUEST', `cannot read the credential file ${source.credentialFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const fromEnv = (source.env ?? process.env)['WEFT_CREDENTIAL']?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return (await readFile(stateDirFile, 'utf8')).trim();
}

function notRunning(dir: string, why: string): WeftError {
  return new WeftError('MESH_NOT_RUNNING', `no mesh is running in ${dir} (start one with: weft up PATH)`, {
    detail: { reason: why },
  });
}

/** The control plane of the mesh `weft up` runs from `stateDir`, with the credential `source` names. */
export async function locateControlPlane(stateDir: string, source: CredentialSource = {}): Promise<ControlPlaneLocation> {
  const layout = stateDirLayout(stateDir);
  // A control plane `weft up` did not start (a replica on another machine): WEFT_CONTROL_ADDRESS names it (or every
  // replica, comma-separated, the one used for all else first), and the state directory holds only the credential
  // and the trust bundle.
  const remote = (source.env ?? process.env)['WEFT_CONTROL_ADDRESS']?.trim();
  if (remote !== undefined && remote !== '') {
    const [credential, caPem] = await Promise.all([readCredential(layout.adminCredentialFile, source), readFile(layout.trustBundleFile, 'utf8')]).catch(
      (err: unknown) => {
        if (isWeftError(err)) throw err;
        throw notRunning(layout.root, (err as Error).message);
      },
    );
    const [address, ...peers] = remote.split(',').map((a) => a.trim()).filter((a) => a !== '');
    return { address: address ?? remote, ...(peers.length > 0 && { peers }), credential, caPem };
  }
  let mesh: MeshFile;
  try {
    mesh = JSON.parse(await readFile(layout.meshFile, 'utf8')) as MeshFile;
  } catch (err) {
    throw notRunning(layout.root, `cannot read ${layout.meshFile}: ${(err as Error).message}`);
  }
  if (typeof mesh.control?.address !== 'string' || mesh.control.address === '') {
    throw notRunning(layout.root, 'the mesh file names no control plane address');
  }
  // A mesh file left behind by a killed `weft up` must not send us to whatever now holds that port.
  if (typeof mesh.pid === 'number' && !processAlive(mesh.pid)) {
    throw notRunning(layout.root, `weft up (pid ${mesh.pid}) is no longer running`);
  }
  let credential: string;
  let caPem: string;
  try {
    [credential, caPem] = await Promise.all([
      readCredential(layout.adminCredentialFile, source),
      readFile(layout.trustBundleFile, 'utf8'),
    ]);
  } catch (err) {
    if (isWeftError(err)) throw err;
    throw notRunning(layout.root, (err as Error).message);
  }
  const peers = (mesh.replicas ?? []).map((r) => r.address);
  return { address: mesh.control.address, ...(peers.length > 0 && { peers }), credential, caPem };
}
