// A minimal kustomize renderer for exactly the features wasmplugin/deploy uses: resources
// (files and directories), namespace, images, patches (inline JSON6902 with a target) and
// replacements (with delimiter/index). Anything else in a kustomization is an error, so a new
// feature cannot slip in unverified. Transformers run in kustomize's built-in order: patches,
// namespace, images, replacements (sigs.k8s.io/kustomize api/krusty, builtin plugin order).
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";

export type Resource = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources", "images", "patches", "replacements"]);

export function renderKustomization(dir: string): Resource[] {
  const k = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Record<string, any>;
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization field '${key}' not supported by the test renderer`);
  let res: Resource[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const p = resolve(dir, r);
    if (statSync(p).isDirectory()) res.push(...renderKustomization(p));
    else res.push(...parseAllDocuments(readFileSync(p, "utf8")).map((d) => d.toJS() as Resource).filter(Boolean));
  }
  res = structuredClone(res);
  for (const p of (k.patches ?? []) as { target: Record<string, string>; patch: string }[]) {
    const targets = res.filter((r) => matches(r, p.target));
    if (targets.length === 0) throw new Error(`${dir}: patch target matches nothing: ${JSON.stringify(p.target)}`);
    const ops = parse(p.patch) as { op: string; path: string; value?: unknown }[];
    for (const t of targets) for (const op of ops) applyOp(t, op);
  }
  if (k.namespace) for (const r of res) r.metadata.namespace = k.namespace;
  for (const img of (k.images ?? []) as { name: string; newName?: string; newTag?: string; digest?: string }[]) {
    for (const r of res) for (const c of containers(r)) {
      const { name, tag, digest } = splitImage(c.image);
      if (name !== img.name) continue;
      const n = img.newName ?? name;
      c.image = img.digest ? `${n}@${img.digest}` : img.newTag ? `${n}:${img.newTag}` : digest ? `${n}@${digest}` : tag ? `${n}:${tag}` : n;
    }
  }
  for (const rep of (k.replacements ?? []) as any[]) {
    const src = res.filter((r) => matches(r, rep.source));
    if (src.length !== 1) throw new Error(`${dir}: replacement source must match one resource, got ${src.length}`);
    const value = getPath(src[0]!, rep.source.fieldPath);
    for (const t of rep.targets) {
      const targets = res.filter((r) => matches(r, t.select));
      if (targets.length === 0) throw new Error(`${dir}: replacement target matches nothing`);
      for (const r of targets) for (const fp of t.fieldPaths as string[]) {
        let v = value;
        if (t.options?.delimiter !== undefined) {
          const parts = String(getPath(r, fp)).split(t.options.delimiter);
          parts[t.options.index ?? 0] = String(value);
          v = parts.join(t.options.delimiter);
        }
        setPath(r, fp, v);
      }
    }
  }
  return res;
}

function matches(r: Resource, sel: Record<string, string>): boolean {
  const [group, version] = r.apiVersion.includes("/") ? r.apiVersion.split("/") : ["", r.apiVersion];
  return (!sel.kind || sel.kind === r.kind) && (!sel.name || sel.name === r.metadata.name) &&
    (!sel.group || sel.group === group) && (!sel.version || sel.version === version);
}

function containers(r: Resource): { image: string }[] {
  const spec = (r as any).spec?.template?.spec;
  return spec ? [...(spec.containers ?? []), ...(spec.initContainers ?? [])] : [];
}

function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { name: image.slice(0, at), digest: image.slice(at + 1) };
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? { name: image.slice(0, colon), tag: image.slice(colon + 1) } : { name: image };
}

function applyOp(doc: any, op: { op: string; path: string; value?: unknown }): void {
  const keys = op.path.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  const last = keys.pop()!;
  let node = doc;
  for (const key of keys) {
    if (node[key] === undefined) throw new Error(`patch path ${op.path} does not exist`);
    node = node[key];
  }
  if (op.op === "replace" && !(last in node)) throw new Error(`replace: ${op.path} does not exist`);
  if (op.op === "replace" || op.op === "add") node[last] = structuredClone(op.value);
  else if (op.op === "remove") delete node[last];
  else throw new Error(`patch op ${op.op} not supported by the test renderer`);
}

function getPath(doc: any, fieldPath: string): unknown {
  return fieldPath.split(".").reduce((n, k) => (n === undefined ? undefined : n[k]), doc);
}

function setPath(doc: any, fieldPath: string, value: unknown): void {
  const keys = fieldPath.split(".");
  const last = keys.pop()!;
  const parent = keys.reduce((n, k) => n?.[k], doc);
  if (parent === undefined) throw new Error(`replacement target ${fieldPath} does not exist`);
  parent[last] = value;
}
