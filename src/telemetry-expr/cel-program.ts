/**
 * A Telemetry CEL expression compiled once (parsed and planned per config, never per request) with @bufbuild/cel,
 * whose `matches` is RE2 (linear time, so a filter cannot be made to backtrack on a request's data).
 */
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';

export type CelProgram = (activation: Record<string, unknown>) => unknown;

const env = celEnv();

/** Throws on a syntax error; callers compile only expressions the config check accepted. */
export function compileCel(source: string): CelProgram {
  const run = plan(env, parse(source)) as (ctx: Record<string, unknown>) => unknown;
  return (activation) => {
    const v = run(activation);
    return isCelError(v) ? undefined : v;
  };
}

/** A value as a metric tag: Istio's stats plugin writes numbers and booleans as text; an error or no value is `unknown`. */
export function tagText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'bigint':
    case 'number':
    case 'boolean':
      return String(v);
    default:
      if (v !== null && typeof v === 'object' && 'value' in v && typeof (v as { value: unknown }).value === 'bigint') return String((v as { value: bigint }).value);
      return 'unknown';
  }
}
