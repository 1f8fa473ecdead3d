// Bytes → plain JS value. Pure. msgpackr is told to produce plain objects (no records
// extension, no Map), and 64-bit integers as BigInt so that validate.ts can refuse values
// beyond Number.MAX_SAFE_INTEGER instead of silently losing precision.
import { Unpackr } from "msgpackr";
import { AggError } from "../errors.ts";

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint" });

export function decodeMsgpack(body: Uint8Array): unknown {
  if (body.length === 0) throw new AggError("AGG_ERR_DECODE", "empty body");
  try {
    // unpack() throws when bytes remain after the first value, so trailing garbage is a 400 too.
    return unpackr.unpack(body);
  } catch (e) {
    throw new AggError("AGG_ERR_DECODE", `not one complete MessagePack value: ${why(e)}`);
  }
}

/** msgpackr's reason without the data it may quote (its trailing-bytes message includes the decoded value). */
function why(e: unknown): string {
  const m = e instanceof Error ? e.message : "";
  if (m.startsWith("Data read, but end of buffer not reached")) return "trailing bytes after the first value";
  const cut = m.search(/[{["'<]/);
  return (cut >= 0 ? m.slice(0, cut) : m).trim().slice(0, 80) || "malformed";
}
