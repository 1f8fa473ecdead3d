// asc transform, run by compile.mjs for every module: each `staticText("literal")` in a source
// becomes `memory.data<u8>([length low, length high, ...the literal's UTF-8 bytes])`, a pointer
// to static text the filter hands to the host as it is (property paths, header names, log
// messages). An AssemblyScript string literal is UTF-16 with a 20-byte object header and two
// data segments, and has to be encoded to UTF-8 at run time on top; this is the bytes, once.
// A source that calls staticText() without this transform fails to compile (no such function).
import { Buffer } from "node:buffer";
import { Transform } from "assemblyscript/transform";
import { Node, NodeKind } from "assemblyscript"; // also defines globalThis.i64_new (literal values are Longs)

/** The static text that replaces a `staticText("...")` call, or null when `node` is no such call. */
function replacementOf(node) {
  if (node.kind !== NodeKind.Call) return null;
  const callee = node.expression;
  if (callee.kind !== NodeKind.Identifier || callee.text !== "staticText") return null;
  const arg = node.args.length === 1 ? node.args[0] : null;
  if (arg === null || arg.kind !== NodeKind.Literal || typeof arg.value !== "string" || node.typeArguments) {
    throw new Error(`staticText() takes one string literal (${node.range.source.normalizedPath})`);
  }
  const bytes = Buffer.from(arg.value, "utf8");
  if (bytes.length > 0xffff) throw new Error(`staticText() text over 65535 bytes (${node.range.source.normalizedPath})`);
  const r = node.range;
  const values = [bytes.length & 0xff, bytes.length >> 8, ...bytes].map((b) => Node.createIntegerLiteralExpression(globalThis.i64_new(b, 0), r));
  return Node.createCallExpression(
    Node.createPropertyAccessExpression(Node.createIdentifierExpression("memory", r), Node.createIdentifierExpression("data", r), r),
    [Node.createNamedType(Node.createSimpleTypeName("u8", r), null, false, r)],
    [Node.createArrayLiteralExpression(values, r)],
    r,
  );
}

const isNode = (v) => v !== null && typeof v === "object" && typeof v.kind === "number" && v.range !== undefined;

/** Replaces every staticText() call below `node` (any node kind: walks the fields that hold nodes). */
function rewrite(node, seen) {
  if (seen.has(node)) return;
  seen.add(node);
  for (const key of Object.keys(node)) {
    if (key === "range" || key === "parent") continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!isNode(v[i])) continue;
        const text = replacementOf(v[i]);
        if (text !== null) v[i] = text;
        else rewrite(v[i], seen);
      }
    } else if (isNode(v)) {
      const text = replacementOf(v);
      if (text !== null) node[key] = text;
      else rewrite(v, seen);
    }
  }
}

export default class StaticText extends Transform {
  afterParse(parser) {
    const seen = new Set();
    for (const source of parser.sources) {
      if (!source.internalPath.startsWith("~lib/")) rewrite(source, seen);
    }
  }
}
