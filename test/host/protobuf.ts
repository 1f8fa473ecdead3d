// Minimal protobuf binary encoder for the messages Envoy returns whole from proxy_get_property
// (serializeValue kMessage -> Message::SerializeToString, envoy
// source/extensions/common/wasm/context.cc): envoy.config.core.v3.Node, Locality and
// google.protobuf.Struct/Value/ListValue. Field numbers from envoy api/envoy/config/core/v3/base.proto
// and google/protobuf/struct.proto. Map entries are written in sorted key order (protobuf map
// order is unspecified; real Envoy may differ byte-wise but decodes the same).

const enc = new TextEncoder();

class Writer {
  parts: number[] = [];
  varint(v: number | bigint): void {
    let x = BigInt(v);
    while (x >= 0x80n) {
      this.parts.push(Number((x & 0x7fn) | 0x80n));
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
  }
  string(field: number, s: string | undefined): void {
    if (s === undefined || s === "") return; // proto3: defaults are not written
    this.bytes(field, enc.encode(s));
  }
  double(field: number, d: number): void {
    this.tag(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, d, true);
    for (const x of b) this.parts.push(x);
  }
  bool(field: number, v: boolean): void {
    this.tag(field, 0);
    this.varint(v ? 1 : 0);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface LocalityMsg {
  region?: string;
  zone?: string;
  subzone?: string;
}

export function encodeLocality(l: LocalityMsg): Uint8Array {
  const w = new Writer();
  w.string(1, l.region);
  w.string(2, l.zone);
  w.string(3, l.subzone); // field name sub_zone
  return w.finish();
}

/** google.protobuf.Value from a JSON-like value. */
export function encodeStructValue(v: unknown): Uint8Array {
  const w = new Writer();
  if (v === null || v === undefined) {
    w.tag(1, 0);
    w.varint(0); // null_value = NULL_VALUE
  } else if (typeof v === "number") w.double(2, v);
  else if (typeof v === "string") {
    w.bytes(3, enc.encode(v)); // oneof members are written even when empty
  } else if (typeof v === "boolean") w.bool(4, v);
  else if (Array.isArray(v)) w.bytes(6, encodeListValue(v));
  else if (typeof v === "object") w.bytes(5, encodeStruct(v as Record<string, unknown>));
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above; what is left (bigint, symbol, function) has a meaningful string form
  else w.bytes(3, enc.encode(String(v)));
  return w.finish();
}

export function encodeListValue(list: readonly unknown[]): Uint8Array {
  const w = new Writer();
  for (const v of list) w.bytes(1, encodeStructValue(v));
  return w.finish();
}

export function encodeStruct(obj: Record<string, unknown>): Uint8Array {
  const w = new Writer();
  for (const k of Object.keys(obj).sort()) {
    const entry = new Writer();
    entry.string(1, k);
    entry.bytes(2, encodeStructValue(obj[k]));
    w.bytes(1, entry.finish());
  }
  return w.finish();
}

/**
 * envoy.config.core.v3.Metadata: filter_metadata=1 (map<string, Struct>); typed_filter_metadata
 * (2) is not modelled.
 */
export function encodeMetadata(filterMetadata: Record<string, Record<string, unknown>>): Uint8Array {
  const w = new Writer();
  for (const k of Object.keys(filterMetadata).sort()) {
    const entry = new Writer();
    entry.string(1, k);
    entry.bytes(2, encodeStruct(filterMetadata[k]!));
    w.bytes(1, entry.finish());
  }
  return w.finish();
}

export interface NodeMsg {
  id: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
  locality?: LocalityMsg;
}

/** envoy.config.core.v3.Node: id=1 cluster=2 metadata=3 locality=4 user_agent_name=6. */
export function encodeNode(n: NodeMsg): Uint8Array {
  const w = new Writer();
  w.string(1, n.id);
  w.string(2, n.cluster);
  if (n.metadata && Object.keys(n.metadata).length > 0) w.bytes(3, encodeStruct(n.metadata));
  if (n.locality) {
    const l = encodeLocality(n.locality);
    if (l.length > 0) w.bytes(4, l);
  }
  // Envoy's LocalInfo fills user_agent_name = "envoy" (source/common/local_info/local_info_impl.h).
  w.string(6, "envoy");
  return w.finish();
}
