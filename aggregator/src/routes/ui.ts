// GET /: a plain HTML page (no external assets) that lists the services seen in the graph and,
// per service, the latency API's verdict. Everything it shows comes from the JSON APIs.
import type { FastifyInstance } from "fastify";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshlat</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#eee}td:first-child{text-align:left}
.proxy{background:#fde2e2}.network{background:#fff3c4}.application{background:#dbeafe}
</style></head><body>
<h1>meshlat — where does the time go?</h1>
<p>Window: <select id="w"><option>1m</option><option selected>5m</option><option>15m</option></select>
 by tier <input type="checkbox" id="tier"></p>
<table id="t"><thead><tr><th>service</th><th>tier</th><th>req/s</th><th>mean ms</th><th>p99 ms</th>
<th>proxy</th><th>network</th><th>app</th><th>source</th><th>verdict</th></tr></thead><tbody></tbody></table>
<script>
const pct = (p) => p == null ? "–" : (100 * p.share).toFixed(0) + "%";
const num = (x) => x == null ? "–" : x.toFixed(1);
async function load() {
  const w = document.getElementById("w").value, by = document.getElementById("tier").checked ? "&by=user_tier" : "";
  const g = await (await fetch("api/v1/graph?window=" + w)).json();
  const svcs = [...new Set(g.edges.map((e) => e.destination))].sort();
  const rows = [];
  for (const s of svcs) {
    const l = await (await fetch("api/v1/latency?window=" + w + by + "&destination_service=" + encodeURIComponent(s))).json();
    for (const x of l.groups) {
      const tr = document.createElement("tr");
      const cells = [s, x.user_tier ?? "all", x.rate_per_s.toFixed(2), num(x.timings.request?.mean_ms), num(x.timings.request?.p99_ms),
        pct(x.split.proxy), pct(x.split.network), pct(x.split.app), x.source, x.verdict];
      for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
      tr.className = x.verdict;
      tr.title = x.verdict_reason;
      rows.push(tr);
    }
  }
  document.querySelector("#t tbody").replaceChildren(...rows);
}
document.getElementById("w").onchange = load;
document.getElementById("tier").onchange = load;
load();
setInterval(load, 10000);
</script></body></html>
`;

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(PAGE));
}
