/**
 * Processes started by `weft up` (control plane, proxies) exit when it is gone, even if it was killed outright and
 * could not stop them: `WEFT_PARENT_PID` names it, and a reparented process (new ppid) knows it is orphaned.
 */
export function exitWhenOrphaned(get: (key: string) => string | undefined, onOrphaned: () => void): void {
  const parent = Number(get('WEFT_PARENT_PID'));
  if (!Number.isInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, 1000);
  timer.unref();
}
