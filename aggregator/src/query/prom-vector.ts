// Samples as the Prometheus query API returns them (instant vectors), and reading them.
import { LABEL_NAMES } from "../wire/types.ts";

/** A native histogram as the query API gives it: buckets are [boundary rule, lower, upper, count]. */
export interface PromHistogram { count: string; sum: string; buckets?: [number, string, string, string][] }
export interface PromVector { metric: Record<string, string>; value?: [number, string]; histogram?: [number, PromHistogram] }

/** A sample's float value, at least 0 (NaN, e.g. from an empty histogram, counts as 0). */
export const num = (s: PromVector): number => { const v = Number(s.value?.[1]); return v > 0 ? v : 0; };
export const keyOf = (m: Record<string, string>) => LABEL_NAMES.map((n) => m[n] ?? "").join("\u0000");
