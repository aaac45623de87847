/**
 * Runs a compiled example app as a real child process, the way `weft up` runs a pod, on a free loopback port
 * (PORT=0), and resolves once the app prints the address it bound. Used by the examples' tests.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LocalPod {
  /** Base URL, e.g. http://127.0.0.1:41234 (empty for apps that do not listen). */
  url: string;
  child: ChildProcess;
  /** Everything the app wrote to stdout so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code and signal. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const LISTENING = /listening on (http:\/\/\S+)/;

export function startLocalPod(
  script: URL,
  env: Record<string, string>,
  options: { waitFor?: RegExp; timeoutMs?: number } = {},
): Promise<LocalPod> {
  const waitFor = options.waitFor ?? LISTENING;
  const child = spawn(process.execPath, [fileURLToPath(script)], {
    env: { PATH: process.env.PATH ?? '', POD_IP: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const pod: Omit<LocalPod, 'url'> = {
    child,
    output: () => stdout,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script.pathname} did not start: ${stdout}${stderr}`));
    }, options.timeoutMs ?? 10_000);
    const check = (): void => {
      const match = waitFor.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve({ ...pod, url: match[1] ?? '' });
    };
    child.stdout.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${script.pathname} exited early (${code ?? signal}): ${stdout}${stderr}`));
    });
  });
}
