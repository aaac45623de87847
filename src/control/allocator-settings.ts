/**
 * glibc malloc settings the control plane runs with, as environment variables: glibc reads them once, when the
 * process starts, so whoever starts the control plane sets them (`weft up` does, the Kubernetes manifest does).
 *
 * Setting the mmap and trim thresholds, even to glibc's own initial 128 KiB, turns off glibc's dynamic threshold,
 * which otherwise rises with every large block freed, so that later blocks of that size come from the brk heap and
 * stay resident once freed among long-lived ones. With 2,000 connected proxies this cut the peak RSS by 17-30 MiB
 * (bench/RESULTS.md, docs/decisions.md 2026-12-07).
 */
export const CONTROL_PLANE_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** The environment to start a control plane with: the settings above, unless `env` sets them otherwise. */
export function controlPlaneEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...CONTROL_PLANE_MALLOC_ENV, ...env };
}

/** The settings this process was started without (they cannot be applied once it runs). */
export function missingAllocatorSettings(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(CONTROL_PLANE_MALLOC_ENV).filter((k) => env[k] === undefined);
}
