import v8 from 'node:v8';

const flagName = (flag: string): string => flag.split('=')[0] as string;

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

/**
 * V8's young generation capped at 1 MiB semispaces, V8's least (Node 20's default grows them to 16 MiB each): the
 * control plane's young objects are short-lived compile and push garbage, and the committed semispaces stayed
 * resident. With 2,000 connected proxies 2 MiB cut the idle RSS by about 30 MiB and the peak by 15-30 MiB
 * (docs/decisions.md 2026-12-07); 1 MiB took the peak with a Sidecar per workload from 273-291 to 270-279 MiB with
 * no more CPU in a change (2026-12-08). Passed in NODE_OPTIONS, which V8 reads at start like glibc its variables, so
 * a manifest sets it the same way.
 */
export const CONTROL_PLANE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * The old generation grown by a fixed half of what survived the last full collection, rather than by V8's own
 * factor, which reaches 4 when collections look cheap against a heap limit of gigabytes: every change leaves the
 * configs and sections it replaced as garbage, and over eight changes to 2,000 proxies V8 let the heap grow from 57
 * to 181 MiB used and the process to 448 MiB, collecting none of it; with the fixed factor the heap stayed at 57-66
 * MiB and later changes took less CPU, not more. A bound proportional to what is live, where `--max-old-space-size`
 * would stop a larger mesh. Node refuses this flag in NODE_OPTIONS; V8 reads it at every full collection, so the
 * control plane sets it itself when it starts (applyRuntimeV8Flags), unless its command line gives it.
 */
export const CONTROL_PLANE_RUNTIME_V8_FLAGS: readonly string[] = ['--heap-growing-percent=50'];

/** Sets CONTROL_PLANE_RUNTIME_V8_FLAGS that `execArgv` does not give; the flags it set. */
export function applyRuntimeV8Flags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = execArgv.map(flagName);
  const missing = CONTROL_PLANE_RUNTIME_V8_FLAGS.filter((f) => !given.includes(flagName(f)));
  for (const f of missing) v8.setFlagsFromString(f);
  return missing;
}

/** NODE_OPTIONS with the V8 flags above added, those the caller already gives (any value) left as they are. */
function withV8Flags(nodeOptions: string | undefined): string {
  const given = (nodeOptions ?? '').split(/\s+/).filter((o) => o !== '');
  const missing = CONTROL_PLANE_V8_FLAGS.filter((f) => !given.some((o) => flagName(o) === flagName(f)));
  return [...given, ...missing].join(' ');
}

/** The environment to start a control plane with: the settings above, unless `env` sets them otherwise. */
export function controlPlaneEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...CONTROL_PLANE_MALLOC_ENV, ...env, NODE_OPTIONS: withV8Flags(env['NODE_OPTIONS']) };
}

/** The settings this process was started without, malloc's by name and V8's as flags (none can be applied once it runs). */
export function missingAllocatorSettings(env: NodeJS.ProcessEnv, execArgv: readonly string[] = []): string[] {
  const given = [...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)].map(flagName);
  return [
    ...Object.keys(CONTROL_PLANE_MALLOC_ENV).filter((k) => env[k] === undefined),
    ...CONTROL_PLANE_V8_FLAGS.filter((f) => !given.includes(flagName(f))),
  ];
}
