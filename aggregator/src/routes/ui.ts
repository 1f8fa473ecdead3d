// GET /: the web page (aggregator/ui/), and its assets under /ui/<version>/ — the page's own
// modules and the graph library from node_modules, served by @fastify/static, nothing from a
// CDN (the page works offline). <version> is a hash of the assets' bytes, so a build that changes
// any asset gets new URLs (cached for a year, immutable) while the page itself is never cached.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Where the page's files are: beside the sources (aggregator/ui/), or beside the bundle the
 *  aggregator image runs (/app/ui/ next to /app/aggregator.mjs, wasmplugin/image). */
const UI_DIRS = [new URL("../../ui/", import.meta.url), new URL("./ui/", import.meta.url)].map((u) => fileURLToPath(u));
/** The graph library's ES module build, as the page's import map names it. */
const CYTOSCAPE_FILE = "cytoscape.esm.min.mjs";
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

export interface UiAssets { readonly version: string; readonly prefix: string; readonly page: string; readonly uiDir: string; readonly cytoscapeDir: string }

/** Reads the assets once and derives their version; the page's placeholders name it. */
export function uiAssets(): UiAssets {
  const uiDir = UI_DIRS.find((d) => existsSync(join(d, "index.html")));
  if (!uiDir) throw new Error(`the web page's files are missing (looked in ${UI_DIRS.join(", ")})`);
  const cytoscapeDir = dirname(createRequire(import.meta.url).resolve("cytoscape"));
  const h = createHash("sha256");
  for (const name of readdirSync(uiDir).sort()) h.update(name).update(readFileSync(join(uiDir, name)));
  h.update(readFileSync(join(cytoscapeDir, CYTOSCAPE_FILE)));
  const version = h.digest("hex").slice(0, 12);
  const prefix = `ui/${version}`; // relative: the page also works behind a path prefix (a proxy)
  const page = readFileSync(join(uiDir, "index.html"), "utf8").replaceAll("{{ASSETS}}", `./${prefix}`).replaceAll("{{VERSION}}", version);
  return { version, prefix, page, uiDir, cytoscapeDir };
}

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  const assets = uiAssets();
  const cache = { maxAge: ONE_YEAR_MS, immutable: true, index: false } as const;
  await app.register(fastifyStatic, { root: assets.uiDir, prefix: `/${assets.prefix}/`, ...cache, allowedPath: (p) => p !== "/index.html" });
  await app.register(fastifyStatic, { root: assets.cytoscapeDir, prefix: `/${assets.prefix}/vendor/`, decorateReply: false, ...cache, allowedPath: (p) => p === `/${CYTOSCAPE_FILE}` });
  app.get("/", async (_req, reply) => reply.header("cache-control", "no-cache").type("text/html; charset=utf-8").send(assets.page));
}
