// The checks both wire versions' validators are built from: each returns the value with its
// type proven, or throws AGG_ERR_SCHEMA naming the offending field's path. A leaf: the
// validators import it, it imports only the error catalog.
import { AggError } from "../errors.ts";

export function fail(path: string, message: string): never {
  throw new AggError("AGG_ERR_SCHEMA", `${path}: ${message}`, path);
}

/** A non-negative safe integer (uint), accepting BigInt in range and integral floats. */
export function uint(v: unknown, path: string): number {
  if (typeof v === "number") {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    fail(path, Number.isFinite(v) ? `expected a non-negative integer, got ${v}` : `expected a finite number, got ${v}`);
  }
  if (typeof v === "bigint") {
    if (v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    fail(path, `integer out of range: ${v}`);
  }
  fail(path, `expected an unsigned integer, got ${typeName(v)}`);
}

// Hot-path check; the path string is only built (by calling uint()) when the value is bad.
const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
export const u = (v: unknown, path: () => string): number => (isUint(v) ? v : uint(v, path()));

export function arr(v: unknown, path: string, maxLen: number, exactLen?: number): unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${typeName(v)}`);
  if (exactLen !== undefined && v.length !== exactLen) fail(path, `expected ${exactLen} elements, got ${v.length}`);
  if (v.length > maxLen) fail(path, `array of ${v.length} elements exceeds the limit ${maxLen}`);
  return v;
}

export function typeName(v: unknown): string {
  if (v === null) return "nil";
  if (Array.isArray(v)) return "array";
  if (v instanceof Uint8Array) return "binary";
  if (typeof v === "object") return Object.getPrototypeOf(v) === Object.prototype ? "map" : `extension value (${(v as object).constructor?.name ?? "object"})`;
  return typeof v;
}
