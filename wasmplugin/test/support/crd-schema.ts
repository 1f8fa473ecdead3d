// Validates a custom resource against a CRD's openAPIV3Schema the way the API server would for
// the parts meshlat uses: structural JSON-schema checks with ajv (shipped with
// @kubernetes-models/validate), unknown fields rejected (the API server prunes them, and
// `kubectl apply --validate=strict` refuses them), and the schema's CEL rules
// (x-kubernetes-validations) evaluated by hand-written equivalents. A CEL rule without an
// equivalent here fails validation, so nothing passes unchecked.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import AjvModule from "ajv";

type Schema = Record<string, any>;
const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "schemas");

export interface CrdSchema { group: string; kind: string; version: string; openAPIV3Schema: Schema; $comment: string }

export function loadCrdSchema(file: string): CrdSchema {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, file), "utf8")) as CrdSchema;
}

/** Unknown fields are errors except where the schema preserves them (e.g. pluginConfig). */
function strict(schema: Schema): Schema {
  if (Array.isArray(schema)) return schema.map(strict) as unknown as Schema;
  if (schema === null || typeof schema !== "object") return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "x-kubernetes-validations") continue; // evaluated separately
    out[k] = k === "enum" || k === "required" ? v : strict(v as Schema);
  }
  if (out.type === "object" && out.properties && !schema["x-kubernetes-preserve-unknown-fields"] && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

/** Hand-written equivalents of the CEL rules in the Istio extension CRDs, keyed by rule text. */
const CEL: Record<string, (self: any) => boolean> = {
  "(has(self.selector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1": (s) => (s.selector ? 1 : 0) + (s.targetRefs ? 1 : 0) <= 1,
  "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1": (s) =>
    (s.selector ? 1 : 0) + (s.targetRef ? 1 : 0) + (s.targetRefs ? 1 : 0) <= 1,
  "has(self.wasm) != has(self.lua)": (s) => (s.wasm !== undefined) !== (s.lua !== undefined),
  '!self.contains("*")': (s) => !String(s).includes("*"),
  'self.all(key, !key.contains("*"))': (s) => Object.keys(s).every((k) => !k.includes("*")),
  "self.all(key, key.size() != 0)": (s) => Object.keys(s).every((k) => k.length !== 0),
  "self.size() == 0": (s) => String(s).length === 0,
  '(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)': (s) => s.valueFrom !== "HOST" || s.value === undefined,
};

/** The URL rule (scheme in http/https/file/oci, or none = oci) appears with the schemes in
 *  different orders in WasmPlugin and TrafficExtension; match it by shape. */
function celRule(rule: string): ((self: any) => boolean) | undefined {
  if (CEL[rule]) return CEL[rule];
  if (/^isURL\(self\) \? \(url\(self\)\.getScheme\(\) in \[/.test(rule)) {
    return (s) => {
      const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(String(s));
      return m ? ["http", "https", "file", "oci"].includes(m[1]!.toLowerCase()) : URL.canParse("http://" + String(s));
    };
  }
  return undefined;
}

function celErrors(schema: Schema, data: unknown, path: string, out: string[]): void {
  if (data === undefined || data === null || typeof schema !== "object") return;
  for (const v of (schema["x-kubernetes-validations"] ?? []) as { rule: string; message: string }[]) {
    const fn = celRule(v.rule);
    if (!fn) out.push(`${path}: CEL rule not implemented by this validator: ${JSON.stringify(v.rule)}`);
    else if (!fn(data)) out.push(`${path}: ${v.message}`);
  }
  if (Array.isArray(data) && schema.items) data.forEach((d, i) => celErrors(schema.items, d, `${path}[${i}]`, out));
  else if (typeof data === "object" && !Array.isArray(data)) {
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
      if (sub) celErrors(sub, v, `${path}.${k}`, out);
    }
  }
}

const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule;
const ajv = new (Ajv as any)({ strict: false, allErrors: true, validateFormats: false });
const compiled = new Map<string, (d: unknown) => boolean>();

/** Returns the list of problems (empty when valid). */
export function validateAgainstCrd(crd: CrdSchema, resource: any): string[] {
  const errors: string[] = [];
  if (resource?.apiVersion !== `${crd.group}/${crd.version}`) errors.push(`apiVersion ${resource?.apiVersion} is not ${crd.group}/${crd.version}`);
  if (resource?.kind !== crd.kind) errors.push(`kind ${resource?.kind} is not ${crd.kind}`);
  if (typeof resource?.metadata?.name !== "string" || resource.metadata.name === "") errors.push("metadata.name missing");
  const specSchema = crd.openAPIV3Schema.properties.spec as Schema;
  let validate = compiled.get(crd.kind);
  if (!validate) {
    validate = ajv.compile(strict(specSchema)) as (d: unknown) => boolean;
    compiled.set(crd.kind, validate);
  }
  if (!validate(resource?.spec)) {
    for (const e of (validate as any).errors as { instancePath: string; message: string; params: unknown }[]) {
      errors.push(`spec${e.instancePath.replace(/\//g, ".")}: ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
  celErrors(specSchema, resource?.spec, "spec", errors);
  return errors;
}
