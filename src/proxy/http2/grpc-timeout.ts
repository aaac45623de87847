/**
 * gRPC's `grpc-timeout` request header (PROTOCOL-HTTP2: TimeoutValue of at most 8 digits, then a unit H M S m u n),
 * in milliseconds, rounded up so a 1-nanosecond deadline is still a deadline. Anything else is no deadline: Envoy
 * ignores a malformed value too.
 */
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

export function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined;
  const unit = UNIT_MS[value[value.length - 1]!];
  if (unit === undefined) return undefined;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return Math.ceil(n * unit);
}
