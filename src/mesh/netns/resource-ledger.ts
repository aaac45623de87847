/**
 * `<state-dir>/netns-resources.json`: every kernel object weft creates for pods, written down BEFORE it is created.
 * After a crash the next `weft up` reads it and removes exactly those objects; an object that is not in the
 * ledger is never touched. Entries leave the ledger only once the object is gone.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * netns and link: kernel objects; hosts: the pod's `/etc/netns/<name>` directory (its hosts and resolv.conf);
 * capture: the pod's iptables rules (name: its namespace), which go with the namespace; forward-chain and
 * masquerade-chain: the host's chains (name: the chain) that let pods' traffic out, each with the one jump to it;
 * ip-forward: the host's IPv4 forwarding switch, turned on by weft, with the value it had (the one restored is
 * the host-wide record in /run/weft, which a reboot clears with the setting).
 */
export type NetnsResourceKind = 'netns' | 'link' | 'hosts' | 'capture' | 'forward-chain' | 'masquerade-chain' | 'ip-forward';
const KINDS: readonly string[] = ['netns', 'link', 'hosts', 'capture', 'forward-chain', 'masquerade-chain', 'ip-forward'];

export interface NetnsResource {
  kind: NetnsResourceKind;
  name: string;
  /** ip-forward: the value it had before weft changed it. */
  restore?: string;
}

interface LedgerFile {
  version: 1;
  resources: NetnsResource[];
}

export const LEDGER_FILE = 'netns-resources.json';

export class ResourceLedger {
  readonly file: string;
  #resources: NetnsResource[];

  constructor(stateDir: string) {
    this.file = path.join(stateDir, LEDGER_FILE);
    this.#resources = readLedger(this.file);
  }

  /** In creation order. */
  get resources(): readonly NetnsResource[] {
    return this.#resources;
  }

  has(r: NetnsResource): boolean {
    return this.#resources.some((x) => x.kind === r.kind && x.name === r.name);
  }

  record(r: NetnsResource): void {
    if (this.has(r)) return;
    this.#resources = [...this.#resources, { kind: r.kind, name: r.name, ...(r.restore === undefined ? {} : { restore: r.restore }) }];
    this.#write();
  }

  forget(r: NetnsResource): void {
    this.#resources = this.#resources.filter((x) => !(x.kind === r.kind && x.name === r.name));
    this.#write();
  }

  #write(): void {
    if (this.#resources.length === 0) {
      fs.rmSync(this.file, { force: true });
      return;
    }
    const body: LedgerFile = { version: 1, resources: this.#resources };
    const tmp = `${this.file}.tmp`;
    // fsync before rename: the point of the ledger is to survive a crash right after this call.
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}

function readLedger(file: string): NetnsResource[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // A torn write cannot happen (rename), so this is someone's edit; refusing would strand the objects.
    return [];
  }
  const resources = (parsed as Partial<LedgerFile> | null)?.resources;
  if (!Array.isArray(resources)) return [];
  return resources.filter(
    (r): r is NetnsResource =>
      typeof r === 'object' &&
      r !== null &&
      KINDS.includes(r.kind) &&
      typeof r.name === 'string' &&
      r.name.length > 0 &&
      (r.restore === undefined || typeof r.restore === 'string'),
  );
}
