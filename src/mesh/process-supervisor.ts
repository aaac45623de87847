/**
 * Runs one child process and keeps it running: restarts with exponential backoff (reset after a healthy run),
 * counts and reports every restart, and stops it for good with SIGTERM then SIGKILL. Children get their own process group so
 * that stopping one also stops what it spawned.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Clock } from '../clock.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
}

export type ProcessState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface SupervisorEvents {
  /** Called before each (re)start; may refresh the spec (a sidecar needs a fresh bootstrap token each time). */
  prepare?: (spec: ProcessSpec) => Promise<ProcessSpec>;
  /** `restarts`: how many times it was started again before this start. */
  onStart?: (child: ChildProcess, restarts: number) => void;
  /** `restarts`: before this exit's restart; `error` is set when the program could not be started at all. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null, restarts: number, error?: Error) => void;
}

const HEALTHY_RUN_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** The restart timer must keep `weft up` alive while nothing else runs, so it is not unref'd as systemClock's are. */
const supervisorClock: Clock = { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms) };

export class SupervisedProcess {
  state: ProcessState = 'stopped';
  /** Restarts since the first start, as Kubernetes counts a container's: never reset, so a crash stays visible. */
  restarts = 0;
  /** Exits in a row without a healthy run between them: the backoff exponent. */
  #failures = 0;
  child: ChildProcess | undefined;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;

  constructor(
    private spec: ProcessSpec,
    private readonly events: SupervisorEvents = {},
    private readonly clock: Clock = supervisorClock,
  ) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async start(): Promise<void> {
    this.#stopping = false;
    this.state = 'starting';
    if (this.events.prepare) this.spec = await this.events.prepare(this.spec);
    if (this.#stopping) return;
    const out = fs.openSync(this.spec.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, {
      env: this.spec.env,
      cwd: this.spec.cwd,
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    this.child = child;
    this.#startedAt = this.clock.now();
    // A program that cannot be started at all (ENOENT, EACCES) never emits 'exit': treat it as one.
    child.once('error', (err) => {
      if (child.pid === undefined) this.#exited(child, null, null, err);
    });
    child.once('exit', (code, signal) => this.#exited(child, code, signal));
    this.state = 'running';
    this.events.onStart?.(child, this.restarts);
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.events.onExit?.(code, signal, this.restarts, error);
    if (this.#stopping) {
      this.state = 'stopped';
      return;
    }
    if (this.clock.now() - this.#startedAt > HEALTHY_RUN_MS) this.#failures = 0;
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.#failures);
    this.#failures++;
    this.restarts++;
    this.state = 'restarting';
    this.#timer = this.clock.setTimeout(() => {
      this.start().catch(() => {
        this.state = 'restarting';
      });
    }, delay);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    const child = this.child;
    if (!child || child.exitCode !== null) {
      this.state = 'stopped';
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    // Anything the child left in its group goes too.
    killGroup(child, 'SIGKILL');
    this.state = 'stopped';
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}
