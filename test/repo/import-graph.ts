// The project's module graph from its import statements, read with TypeScript's own parser
// (it also reads the filter's AssemblyScript, whose relative imports omit the extension), and
// the cycles in it. Only imports that exist at run time count: `import type` / `export type`
// and imports whose every name is type-only are erased by the compiler and cannot form a
// cycle of module initialisation. Dynamic `import()` is not followed (it runs after the
// importing module has finished initialising).
import { existsSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import ts from "typescript";

export type Graph = Map<string, string[]>;

const SOURCE = /\.(ts|mts|mjs|js)$/;

function runtimeSpecifiers(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith("js") ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const c = st.importClause;
      if (c?.isTypeOnly) continue;
      const b = c?.namedBindings;
      const allTypes = c !== undefined && c.name === undefined && b !== undefined && ts.isNamedImports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
      if (!allTypes) out.push(st.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      const b = st.exportClause;
      const allTypes = b !== undefined && ts.isNamedExports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
      if (!st.isTypeOnly && !allTypes) out.push(st.moduleSpecifier.text);
    }
  }
  return out;
}

/** Relative specifier → a file of the set, as Node (with the extension) or asc (without) finds it. */
function resolve(from: string, spec: string, files: Set<string>): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  return [base, `${base}.ts`, `${base}/index.ts`].find((f) => files.has(f));
}

/** `files`: paths relative to `root`; the graph holds edges between them only (packages are leaves). */
export function importGraph(root: string, files: string[]): Graph {
  const set = new Set(files.filter((f) => SOURCE.test(f) && !f.endsWith(".d.ts")));
  const graph: Graph = new Map();
  for (const f of set) {
    const path = posix.join(root, f);
    if (!existsSync(path)) continue;
    const deps = runtimeSpecifiers(f, readFileSync(path, "utf8")).map((s) => resolve(f, s, set)).filter((d): d is string => d !== undefined);
    graph.set(f, [...new Set(deps)]);
  }
  return graph;
}

/** One cycle (as a path a → … → a) per strongly connected component that has one (Tarjan). */
export function findCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(cycleIn(graph, new Set(scc), v));
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** A shortest path from `start` back to itself inside one component (breadth first). */
function cycleIn(graph: Graph, scc: Set<string>, start: string): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
