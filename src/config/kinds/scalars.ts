/**
 * Field shapes that many kinds share: Istio durations, port numbers, label maps, selectors.
 * Each is strict so that a misspelled key is an error, never a silently ignored setting.
 */
import { z } from 'zod';
import { tryParseDuration } from '../duration.js';

/** A Go/Istio duration string ("10s", "1h30m", "0s"). */
export const DurationSchema = z.string().refine((s) => tryParseDuration(s) !== undefined, {
  message: 'invalid duration: expected e.g. "10s", "1.5h", "1h30m", "100ms"',
});

/** A duration where Istio's CRD validation demands at least 1ms (timeouts and intervals that must tick). */
export const PositiveDurationSchema = z.string().refine((s) => (tryParseDuration(s) ?? 0) >= 1, {
  message: 'invalid duration: expected at least 1ms, e.g. "10s", "1.5h", "1h30m", "100ms"',
});

export const PortNumberSchema = z.int().min(1, 'port must be 1-65535').max(65535, 'port must be 1-65535');

/** proto uint32 in YAML: a non-negative integer. */
export const UInt32Schema = z.int().min(0).max(4_294_967_295);
export const Int32Schema = z.int().min(-2_147_483_648).max(2_147_483_647);
/** proto (u)int64 is written either as a number or, in protobuf JSON, as a decimal string. */
export const UInt64Schema = z.union([z.int().min(0), z.string().regex(/^\d+$/, 'expected an unsigned integer')]);

export const StringMapSchema = z.record(z.string(), z.string());

/** Istio's Percent message: { value: 0..100 }. */
export const PercentSchema = z.strictObject({ value: z.number().min(0).max(100) });

/** istio.type.v1beta1.WorkloadSelector (security kinds, DestinationRule). */
export const MatchLabelsSelectorSchema = z.strictObject({ matchLabels: StringMapSchema.optional() });

/** networking.v1alpha3.WorkloadSelector (Sidecar, ServiceEntry). */
export const LabelsSelectorSchema = z.strictObject({ labels: StringMapSchema.optional() });

/** istio.type.v1beta1.PortSelector. */
export const PortSelectorSchema = z.strictObject({ number: PortNumberSchema.optional() });

/** Proto oneof rule for plain objects: at most one of the keys may be set. */
export function atMostOneOf(obj: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const set = keys.filter((k) => obj[k] !== undefined);
  return set.length > 1 ? `only one of ${keys.join(', ')} may be set (found ${set.join(', ')})` : undefined;
}
