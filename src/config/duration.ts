/**
 * Istio writes durations the way Go's time.ParseDuration reads them ("10s", "1.5h", "1h30m", "250ms"), because
 * its CRDs validate them with CEL's duration(); we accept exactly that grammar so pasted policies keep working.
 */
import { WeftError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// One number (integer or decimal, either side of the point may be empty but not both) and its unit.
const TERM = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses a Go/Istio duration to milliseconds, or returns undefined. Negative durations are refused. */
export function tryParseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0 || text.length > 64) return undefined;
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const at = TERM.lastIndex;
    const m = TERM.exec(text);
    if (m === null || m.index !== at) return undefined;
    const unit = UNIT_MS[m[2] as string];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Parses a Go/Istio duration string to milliseconds; a malformed one is a CONFIG_INVALID error. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw new WeftError(
      'CONFIG_INVALID',
      `invalid duration ${JSON.stringify(text)}: expected a number with a unit (ns, us, ms, s, m, h), e.g. "10s" or "1h30m"`,
      { detail: { duration: text } },
    );
  }
  return ms;
}
