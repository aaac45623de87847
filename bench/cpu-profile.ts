/**
 * A CPU profile of a running proxy without restarting it: SIGUSR1 opens Node's inspector on 127.0.0.1:9229, and
 * the inspector's Profiler domain is the same V8 sampling profiler that `node --cpu-prof` drives. (Sidecars under
 * `weft up` get a fixed environment, so NODE_OPTIONS=--cpu-prof cannot reach them.) Only one process can hold
 * 9229 at a time, so the inspector is closed again when the profile is taken.
 */
import { WebSocket } from 'undici';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface SelfTimeRow {
  function: string;
  where: string;
  selfMs: number;
  percent: number;
}

const INSPECTOR = 'http://127.0.0.1:9229';

async function debuggerUrl(deadline: number): Promise<string> {
  for (;;) {
    try {
      const res = await fetch(`${INSPECTOR}/json/list`);
      const list = (await res.json()) as { webSocketDebuggerUrl?: string }[];
      const url = list[0]?.webSocketDebuggerUrl;
      if (url) return url;
    } catch {
      // not open yet
    }
    if (Date.now() > deadline) throw new Error('the inspector did not open on 127.0.0.1:9229');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function inspectorClosed(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      await fetch(`${INSPECTOR}/json/list`);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

class InspectorSession {
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id === undefined ? undefined : this.#pending.get(msg.id);
      if (!p || msg.id === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
    ws.addEventListener('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error('inspector connection closed'));
      this.#pending.clear();
    });
  }

  static async open(url: string): Promise<InspectorSession> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true });
    });
    return new InspectorSession(ws);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Profiles `pid` while `during` runs; returns the raw profile. */
export async function profileWhile(pid: number, during: () => Promise<void>, samplingIntervalUs = 200): Promise<CpuProfile> {
  process.kill(pid, 'SIGUSR1');
  const session = await InspectorSession.open(await debuggerUrl(Date.now() + 10_000));
  let ours = false;
  try {
    // Another process (a second bench, a developer's debugger) may already hold 9229: profile only `pid`.
    const who = await session.call<{ result: { value?: unknown } }>('Runtime.evaluate', { expression: 'process.pid', returnByValue: true });
    if (who.result.value !== pid) throw new Error(`the inspector on 127.0.0.1:9229 belongs to pid ${String(who.result.value)}, not ${pid}`);
    ours = true;
    await session.call('Profiler.enable');
    await session.call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await session.call('Profiler.start');
    await during();
    const { profile } = await session.call<{ profile: CpuProfile }>('Profiler.stop');
    return profile;
  } finally {
    if (ours) {
      // Give 9229 back so the next proxy can be profiled; the process keeps running. Closing the inspector from
      // inside drops this connection before any reply, so wait for the port to be free rather than for an answer.
      session.call('Runtime.evaluate', { expression: 'process._debugEnd()' }).catch(() => undefined);
      await inspectorClosed(Date.now() + 5000);
    }
    session.close();
  }
}

/** Self time by function (name + file:line), largest first. */
export function topSelfTime(profile: CpuProfile, limit = 20): SelfTimeRow[] {
  const totalHits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const msPerHit = totalHits === 0 ? 0 : durationMs / totalHits;
  let busyMs = 0;
  const byKey = new Map<string, SelfTimeRow>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0 || n.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
    const where = url === '' ? '' : `${file}:${lineNumber + 1}`;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const key = `${name} ${where}`;
    const row = byKey.get(key) ?? { function: name, where, selfMs: 0, percent: 0 };
    row.selfMs += hits * msPerHit;
    busyMs += hits * msPerHit;
    byKey.set(key, row);
  }
  const rows = [...byKey.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, limit);
  // Share of the time the process was running JavaScript, the VM or native code (idle samples left out).
  for (const r of rows) r.percent = busyMs === 0 ? 0 : (100 * r.selfMs) / busyMs;
  return rows;
}
