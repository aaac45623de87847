/** The control plane's structured log: JSON lines on stdout, one event each. */
export interface ControlLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export function controlLog(): ControlLog {
  const line = (level: string, msg: string, fields?: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, component: 'control', msg, ...fields })}\n`);
  };
  return { info: (m, f) => line('info', m, f), warn: (m, f) => line('warn', m, f) };
}
