// The values proxy_get_property can return and how Envoy serializes each one
// (envoy source/extensions/common/wasm/context.cc serializeValue):
//   string/bytes raw; int64/uint64/double 8 bytes little-endian; bool 1 byte;
//   duration int64 ns; timestamp int64 ns since epoch; message = protobuf bytes;
//   map = pairs encoding with keys and values serialized recursively; list = pairs encoding
//   with the items as keys and empty values; anything else (e.g. null) SERIALIZATION_FAILURE.
import { Status } from "./abi.ts";
import { encodeBytePairs, type BytePair } from "./pairs.ts";

export type TypedKind = "int" | "uint" | "double" | "duration" | "timestamp" | "null";

/** A scalar whose CEL type is not implied by its JS type. */
export class Typed {
  constructor(
    readonly kind: TypedKind,
    readonly value: bigint | number,
  ) {}
}

/** A protobuf message: serialized whole as `bytes`, traversed by field name through `fields`. */
export class Message {
  constructor(
    readonly bytes: Uint8Array,
    readonly fields: Readonly<Record<string, PropertyValue | undefined>>,
  ) {}
}

/**
 * A map Envoy computes on lookup (its CEL wrappers). Without `keys` it cannot list its keys (the
 * request/response/connection/... wrappers: BaseWrapper::ListKeys is unimplemented), so reading
 * it whole is SERIALIZATION_FAILURE; with `keys` (header maps: HeadersWrapper::ListKeys) it
 * serializes like any map.
 */
export class LookupMap {
  constructor(
    readonly lookup: (key: string) => PropertyValue | undefined,
    readonly keys?: () => readonly string[],
  ) {}
}

/**
 * string -> CEL string; boolean -> bool; bigint -> int64; number -> int64 when integral,
 * else double (use the helpers to be explicit); Uint8Array -> bytes; array -> list;
 * plain object -> map (e.g. a Struct); Typed / Message / LookupMap as documented.
 */
export type PropertyValue =
  | string
  | boolean
  | bigint
  | number
  | Uint8Array
  | Typed
  | Message
  | LookupMap
  | readonly PropertyValue[]
  | { readonly [key: string]: PropertyValue };

export const prop = {
  int: (v: bigint | number) => new Typed("int", BigInt(v)),
  uint: (v: bigint | number) => new Typed("uint", BigInt(v)),
  double: (v: number) => new Typed("double", v),
  durationNs: (ns: bigint | number) => new Typed("duration", BigInt(ns)),
  timestampNs: (ns: bigint | number) => new Typed("timestamp", BigInt(ns)),
  null: () => new Typed("null", 0),
};

const enc = new TextEncoder();

// 8-byte scalars go through one scratch word (host order = little-endian on every platform
// Node runs on, as Envoy's reinterpret_cast copies host order). The returned view is only
// valid until the next call: callers copy it at once (maps/lists slice it).
const word = new ArrayBuffer(8);
const wordI64 = new BigInt64Array(word);
const wordU64 = new BigUint64Array(word);
const wordF64 = new Float64Array(word);
const wordU8 = new Uint8Array(word);

function int64(v: bigint, unsigned: boolean): Uint8Array {
  if (unsigned) wordU64[0] = v; // typed-array stores wrap modulo 2^64
  else wordI64[0] = v;
  return wordU8;
}

function double(v: number): Uint8Array {
  wordF64[0] = v;
  return wordU8;
}

// Maps and lists made by immutableValue: deeply frozen, so their pairs encoding is computed on
// the first read and handed out again after. Envoy itself serializes per read (a CelState
// Struct is even deserialized per read: envoy source/extensions/filters/common/expr/cel_state.cc
// exprValue), but the host's JS encoding is emulation cost, not the filter's, and the bytes are
// identical. Callers never write into the returned bytes (copyOut copies; containers slice).
const immutable = new WeakSet<object>();
const encodedOnce = new WeakMap<object, Uint8Array>();

/**
 * Freezes a map/list value deeply (plain objects and arrays; leaves as they are) and marks it
 * for the encoding cache above: for values that never change once set, such as the peer that
 * Istio's metadata exchange puts in a connection's filter state.
 */
export function immutableValue<T extends PropertyValue>(v: T): T {
  if (typeof v !== "object" || v === null || v instanceof Uint8Array || v instanceof Typed || v instanceof Message || v instanceof LookupMap) return v;
  for (const item of Array.isArray(v) ? (v as readonly PropertyValue[]) : Object.values(v as Record<string, PropertyValue>)) immutableValue(item);
  Object.freeze(v);
  immutable.add(v);
  return v;
}

/** Serialized bytes (a scratch view for 8-byte scalars: copy before the next call), or a Status code. */
export function serializeValue(v: PropertyValue): Uint8Array | number {
  switch (typeof v) {
    case "string":
      return enc.encode(v);
    case "boolean":
      return Uint8Array.of(v ? 1 : 0);
    case "bigint":
      return int64(v, false);
    case "number":
      return Number.isInteger(v) ? int64(BigInt(v), false) : double(v);
    default:
      break; // objects: below
  }
  if (v instanceof Uint8Array) return v;
  if (v instanceof Typed) {
    switch (v.kind) {
      case "int":
      case "duration":
      case "timestamp":
        return int64(BigInt(v.value), false);
      case "uint":
        return int64(BigInt(v.value), true);
      case "double":
        return double(Number(v.value));
      case "null":
        return Status.SERIALIZATION_FAILURE;
    }
  }
  if (v instanceof Message) return v.bytes;
  if (immutable.has(v)) {
    // Same bytes as encoding it again (nothing in it can change), without the per-read work.
    let bytes = encodedOnce.get(v);
    if (bytes === undefined) {
      const s = serializeContainer(v);
      if (typeof s === "number") return s;
      encodedOnce.set(v, (bytes = s));
    }
    return bytes;
  }
  return serializeContainer(v);
}

/** A map or list as proxy-wasm pairs (keys and values serialized recursively). */
function serializeContainer(v: LookupMap | readonly PropertyValue[] | { readonly [key: string]: PropertyValue }): Uint8Array | number {
  const pairs: BytePair[] = [];
  if (v instanceof LookupMap) {
    if (!v.keys) return Status.SERIALIZATION_FAILURE;
    for (const k of v.keys()) {
      const item = v.lookup(k);
      const s = item === undefined ? Status.SERIALIZATION_FAILURE : serializeValue(item);
      if (typeof s === "number") return Status.SERIALIZATION_FAILURE;
      pairs.push([enc.encode(k), s.slice()]);
    }
  } else if (Array.isArray(v)) {
    for (const item of v as readonly PropertyValue[]) {
      const s = serializeValue(item);
      if (typeof s === "number") return Status.SERIALIZATION_FAILURE;
      pairs.push([s.slice(), new Uint8Array(0)]);
    }
  } else {
    for (const [k, item] of Object.entries(v as Record<string, PropertyValue>)) {
      const s = serializeValue(item);
      if (typeof s === "number") return Status.SERIALIZATION_FAILURE;
      pairs.push([enc.encode(k), s.slice()]);
    }
  }
  return encodeBytePairs(pairs);
}

/** One step of Envoy's getProperty path walk: map key, message field, or list index. */
export function child(v: PropertyValue, seg: string): PropertyValue | undefined {
  if (v instanceof LookupMap) return v.lookup(seg);
  if (v instanceof Message) return v.fields[seg];
  if (Array.isArray(v)) {
    // absl::SimpleAtoi then bounds check
    if (!/^[+-]?\d+$/.test(seg.trim())) return undefined;
    const i = Number(seg);
    return i >= 0 && i < v.length ? (v as readonly PropertyValue[])[i] : undefined;
  }
  if (typeof v === "object" && v !== null && !(v instanceof Uint8Array) && !(v instanceof Typed)) {
    return Object.prototype.hasOwnProperty.call(v, seg) ? (v as Record<string, PropertyValue>)[seg] : undefined;
  }
  return undefined; // path into a scalar: NOT_FOUND
}

/** A JSON-like value as CEL sees a google.protobuf.Value (Struct -> map, number -> double). */
export function fromStructValue(v: unknown): PropertyValue {
  if (v === null || v === undefined) return prop.null();
  if (typeof v === "number") return prop.double(v);
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(fromStructValue);
  if (typeof v === "object") {
    const out: Record<string, PropertyValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = fromStructValue(x);
    return out;
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above; what is left (bigint, symbol, function) has a meaningful string form
  return String(v);
}
