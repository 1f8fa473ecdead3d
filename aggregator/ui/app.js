// @ts-check
// The page's controller: reads the view state from the URL, fetches the overview every
// `refresh` seconds (one call), and renders the graph, the connections table, the split of the
// selected service and the filters' health. A failed refresh keeps the last data on screen and
// says so; an empty mesh says what to check.
import { fetchOverview } from "./api.js";
import { el, errorClass, fmtMs, fmtPct, fmtRate, plaintextWhereMtlsExpected, shortService } from "./format.js";
import { GraphView, edgeId } from "./graph-view.js";
import { renderHealth } from "./health-view.js";
import { renderSplit } from "./split-view.js";
import { readState, writeState } from "./url-state.js";

/** @typedef {import("./api.js").Overview} Overview */
/** @typedef {import("./api.js").GraphEdge} GraphEdge */
/** @typedef {import("./api.js").GraphNode} GraphNode */

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));

const state = readState();
/** @type {Overview | null} */
let data = null;
/** Selected graph element (node id or edge id), "" for none. */
let selected = state.service;
let paused = false;
let inFlight = false;
/** A refresh was asked for while one was in flight (a control changed): run again right after. */
let again = false;
let lastOk = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;

const windowSel = /** @type {HTMLSelectElement} */ ($("window"));
const bySel = /** @type {HTMLSelectElement} */ ($("by"));
const serviceSel = /** @type {HTMLSelectElement} */ ($("service"));
const pauseBtn = $("pause");
windowSel.value = state.window;
bySel.value = state.by;

const details = $("details");
/** @param {{ kind: "node", node: GraphNode } | { kind: "edge", edge: GraphEdge } | null} d */
function showDetails(d) {
  if (!d) d = selectedDetails();
  if (!d) return void details.replaceChildren(el("p", { class: "hint" }, "Hover or select a node or connection for its details."));
  /** @type {[string, string][]} */
  let rows;
  if (d.kind === "edge") {
    const e = d.edge;
    rows = [["connection", `${e.source} → ${shortService(e.destination)}`], ["requests/s", fmtRate(e.rate_per_s)], ["error rate", fmtPct(e.error_rate)],
      ["p99", fmtMs(e.p99_ms)], ["mTLS", e.mtls_share === null ? "unknown (no server-side report)" : `${fmtPct(e.mtls_share)} of requests${plaintextWhereMtlsExpected(e) ? " — plaintext where mTLS is expected" : ""}`],
      ["counted by", `${e.reporter} sidecar`]];
  } else {
    const n = d.node;
    const svc = n.kind === "service" ? data?.services.find((s) => s.destination_service === n.id) : undefined;
    const all = svc?.groups.length === 1 ? svc.groups[0] : undefined;
    rows = [[n.kind, n.id], ["namespace", n.namespace || "–"]];
    if (all) rows.push(["verdict", `${all.verdict} (${all.verdict_reason})`]);
  }
  details.replaceChildren(el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
}

/** @returns {{ kind: "node", node: GraphNode } | { kind: "edge", edge: GraphEdge } | null} */
function selectedDetails() {
  if (!data || !selected) return null;
  const edge = data.graph.edges.find((e) => edgeId(e) === selected);
  if (edge) return { kind: "edge", edge };
  const node = data.graph.nodes.find((n) => n.id === selected);
  return node ? { kind: "node", node } : null;
}

/** The service whose split is shown: the selected service, or the selected edge's destination. */
function selectedService() {
  if (!data || !selected) return "";
  const edge = data.graph.edges.find((e) => edgeId(e) === selected);
  if (edge) return edge.destination;
  return data.services.some((s) => s.destination_service === selected) ? selected : "";
}

/** @param {string} id */
function select(id) {
  selected = id;
  graph.select(id);
  const svc = selectedService();
  state.service = svc;
  writeState(state);
  render();
}

const graph = new GraphView($("graph"), { hover: showDetails, select });

function renderEdges() {
  const tbody = /** @type {HTMLTableElement} */ ($("edges")).tBodies[0];
  if (!data) return;
  // A refresh rebuilds the rows: keep the keyboard focus on the same connection.
  const focused = document.activeElement?.getAttribute("data-edge");
  tbody.replaceChildren(...data.graph.edges.map((e) => {
    const id = edgeId(e);
    const b = el("button", { type: "button", "data-edge": id, "aria-pressed": String(selected === id) }, `${e.source} → ${shortService(e.destination)}`);
    b.addEventListener("click", () => select(id));
    b.addEventListener("focus", () => showDetails({ kind: "edge", edge: e }));
    return el("tr", { class: selected === id ? "selected" : "" },
      el("td", {}, b), el("td", {}, fmtRate(e.rate_per_s)),
      el("td", { class: `err-${errorClass(e.error_rate)}` }, fmtPct(e.error_rate)),
      el("td", {}, fmtMs(e.p99_ms)),
      el("td", {}, e.mtls_share === null ? "–" : `${fmtPct(e.mtls_share)}${plaintextWhereMtlsExpected(e) ? " (plaintext!)" : ""}`));
  }));
  if (focused) /** @type {HTMLElement | null} */ (tbody.querySelector(`button[data-edge="${CSS.escape(focused)}"]`))?.focus({ preventScroll: true });
}

function renderServices() {
  if (!data) return;
  const names = data.services.map((s) => s.destination_service);
  const current = selectedService() || state.service;
  const opts = [el("option", { value: "" }, "— choose —"), ...names.map((n) => el("option", { value: n }, shortService(n)))];
  serviceSel.replaceChildren(...opts);
  serviceSel.value = names.includes(current) ? current : "";
}

function render() {
  if (!data) return;
  const empty = data.graph.edges.length === 0;
  const emptyMsg = $("empty");
  emptyMsg.hidden = !empty;
  emptyMsg.textContent = empty
    ? `No traffic seen in the last ${data.window}. Check that the meshlat filter is installed (WasmPlugin) and sends to this aggregator: the filter health below lists the proxies reporting.`
    : "";
  graph.update(data.graph);
  graph.select(selected);
  renderEdges();
  renderServices();
  const svc = selectedService() || state.service;
  renderSplit($("split"), svc && shortService(svc), data.services.find((s) => s.destination_service === svc)?.groups, data.min_samples);
  $("split-title").textContent = svc ? `Latency split: ${shortService(svc)}` : "Latency split";
  renderHealth(/** @type {HTMLTableElement} */ ($("health")).tBodies[0], $("aggregator-health"), data.filters);
  showDetails(null);
}

async function refresh() {
  clearTimeout(timer);
  if (inFlight) { again = true; return; }
  inFlight = true;
  const problem = $("problem");
  try {
    const asked = { window: state.window, by: state.by };
    const d = await fetchOverview(asked);
    // A control changed while this was in flight: `again` refreshes with the new settings.
    if (asked.window !== state.window || asked.by !== state.by) return;
    data = d;
    lastOk = Date.now();
    problem.hidden = true;
    problem.textContent = "";
    if (!selected && state.service) selected = state.service;
    render();
    $("status").textContent = `Updated ${new Date(lastOk).toLocaleTimeString()} · ${d.window} window (data covers ${Math.round(d.span_seconds)} s)${paused ? " · paused" : ""}`;
  } catch (err) {
    problem.hidden = false;
    problem.textContent = `The meshlat API is not answering (${err instanceof Error ? err.message : String(err)}). Retrying every ${state.refreshS} s; ${lastOk ? `the data shown is from ${new Date(lastOk).toLocaleTimeString()}.` : "nothing to show yet."}`;
    if (!data) $("status").textContent = "No data yet.";
  } finally {
    inFlight = false;
    if (again) { again = false; void refresh(); }
    else if (!paused) timer = setTimeout(refresh, state.refreshS * 1000);
  }
}

windowSel.addEventListener("change", () => { state.window = windowSel.value; writeState(state); void refresh(); });
bySel.addEventListener("change", () => { state.by = bySel.value; writeState(state); void refresh(); });
serviceSel.addEventListener("change", () => select(serviceSel.value));
pauseBtn.addEventListener("click", () => {
  paused = !paused;
  pauseBtn.setAttribute("aria-pressed", String(paused));
  pauseBtn.textContent = paused ? "Resume" : "Pause";
  if (paused) clearTimeout(timer); else void refresh();
});

writeState(state);
void refresh();
