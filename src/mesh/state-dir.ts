import path from 'node:path';

/**
 * The layout of a mesh's state directory (`--state-dir`, default `.weft/`). Everything that must survive a restart
 * lives here: the CA, the store, the admin credential, and what `weft up` tells other commands about the mesh.
 */
export interface StateDirLayout {
  root: string;
  /** CA root (or given intermediate) material; key files mode 0600. */
  caDir: string;
  /** SQLite store of resources, audit records, bootstrap tokens. */
  storeFile: string;
  /** The admin API credential written by `weft up`, mode 0600. */
  adminCredentialFile: string;
  /** The HMAC key API credentials are hashed under, mode 0600; kept out of the store so a copy of it is not enough. */
  credentialKeyFile: string;
  /** The AES key every stored Secret is sealed under (secret-sealing.ts), mode 0600; kept out of the store. */
  secretKeyFile: string;
  /** Facts about the running mesh: control plane address, every sidecar, the gateway. */
  meshFile: string;
  /** Stable choices of the first start (control plane port, pod address block). */
  runtimeFile: string;
  /** The newest signed head of the audit chain, kept outside the store so truncating the store shows. */
  auditHeadFile: string;
  /** Public half of the audit key (beside the CA) that signs chain heads. */
  auditPublicKeyFile: string;
  /** Trust bundle (PEM) for clients of the control plane's API. */
  trustBundleFile: string;
  logDir: string;
}

export const DEFAULT_STATE_DIR = '.weft';

export function stateDirLayout(root: string = DEFAULT_STATE_DIR): StateDirLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    caDir: path.join(abs, 'ca'),
    storeFile: path.join(abs, 'store.db'),
    adminCredentialFile: path.join(abs, 'admin.credential'),
    credentialKeyFile: path.join(abs, 'ca', 'credential-hmac.key'),
    secretKeyFile: path.join(abs, 'ca', 'secret.key'),
    meshFile: path.join(abs, 'mesh.json'),
    runtimeFile: path.join(abs, 'runtime.json'),
    trustBundleFile: path.join(abs, 'ca', 'trust-bundle.pem'),
    auditHeadFile: path.join(abs, 'audit-head.json'),
    auditPublicKeyFile: path.join(abs, 'ca', 'audit-key.pub.pem'),
    logDir: path.join(abs, 'logs'),
  };
}
