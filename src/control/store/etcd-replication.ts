/**
 * What control-plane replicas share through etcd besides the store proper: sealed secrets (written once, by the
 * first replica, and read by the others) and the leader lease that decides which replica runs singleton work.
 */
import type { Campaign, Namespace } from 'etcd3';
import type { Envelope } from '../replica/envelope.js';

const SEALED = 'sealed/';

export interface SealedSecrets {
  get(name: string): Promise<Envelope | undefined>;
  /** Stores `envelope` unless one exists already; returns whichever is stored (the first writer wins). */
  createIfAbsent(name: string, envelope: Envelope): Promise<Envelope>;
}

export class EtcdSealedSecrets implements SealedSecrets {
  readonly #ns: Namespace;

  constructor(ns: Namespace) {
    this.#ns = ns;
  }

  async get(name: string): Promise<Envelope | undefined> {
    const text = await this.#ns.get(SEALED + name).string();
    return text === null ? undefined : (JSON.parse(text) as Envelope);
  }

  async createIfAbsent(name: string, envelope: Envelope): Promise<Envelope> {
    const key = SEALED + name;
    const res = await this.#ns.if(key, 'Create', '==', 0).then(this.#ns.put(key).value(JSON.stringify(envelope))).else(this.#ns.get(key)).commit();
    if (res.succeeded) return envelope;
    const kv = res.responses[0]?.response_range?.kvs[0];
    if (kv === undefined) throw new Error(`sealed ${name} vanished while it was created`);
    return JSON.parse(kv.value.toString('utf8')) as Envelope;
  }
}

export interface Leadership {
  /** True while this replica holds the leader lease. */
  readonly leading: boolean;
  resign(): Promise<void>;
}

/**
 * Campaigns for the leader lease under `id` for as long as the replica runs: elected, it leads until its lease is
 * lost (it stops answering etcd for `ttlSeconds`) or it resigns; after an error it campaigns again.
 */
export function campaignForLeader(
  ns: Namespace,
  id: string,
  ttlSeconds: number,
  events: { onElected: () => void; onDeposed: (why: string) => void },
): Leadership {
  let leading = false;
  let campaign: Campaign | undefined;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    const c = ns.election('leader', ttlSeconds).campaign(id);
    campaign = c;
    c.on('elected', () => {
      if (campaign !== c) return;
      leading = true;
      events.onElected();
    });
    c.on('error', (err) => {
      if (campaign !== c) return;
      campaign = undefined;
      if (leading) {
        leading = false;
        events.onDeposed(err.message);
      }
      void c.resign().catch(() => undefined);
      setTimeout(run, 500).unref();
    });
  };
  run();
  return {
    get leading() {
      return leading;
    },
    async resign() {
      stopped = true;
      const c = campaign;
      campaign = undefined;
      if (leading) {
        leading = false;
        events.onDeposed('resigned');
      }
      await c?.resign().catch(() => undefined);
    },
  };
}
