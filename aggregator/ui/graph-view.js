// @ts-check
// The dependency graph (cytoscape): nodes are workloads and services, edge width follows
// requests/s, colour the graph API's error rate, dashed where traffic is plaintext though mTLS is
// expected. Updated in place on refresh, so positions, zoom and the selection survive; the
// layout runs again only when nodes or edges appear or go.
import cytoscape from "cytoscape";
import { errorClass, plaintextWhereMtlsExpected, shortService } from "./format.js";

const COLOURS = { ok: "#2e7d32", warn: "#a15c00", bad: "#c62828" };

/** @typedef {import("./api.js").GraphNode} GraphNode */
/** @typedef {import("./api.js").GraphEdge} GraphEdge */

/** @param {GraphEdge} e */
export const edgeId = (e) => `${e.source}->${e.destination}`;

export class GraphView {
  /**
   * @param {HTMLElement} container
   * @param {{ hover: (d: { kind: "node", node: GraphNode } | { kind: "edge", edge: GraphEdge } | null) => void, select: (id: string) => void }} on
   */
  constructor(container, on) {
    this.cy = cytoscape({
      container,
      minZoom: 0.3,
      maxZoom: 3,
      boxSelectionEnabled: false,
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 12, color: "#1a1a1a", "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "wrap", "text-max-width": "140px", width: 26, height: 26, "border-width": 2, "border-color": "#52525b" } },
        { selector: "node[kind = 'workload']", style: { shape: "ellipse", "background-color": "#dbe4f7" } },
        { selector: "node[kind = 'service']", style: { shape: "round-rectangle", "background-color": "#f1e4f7", width: 34 } },
        { selector: "edge", style: { width: "data(width)", "line-color": "data(colour)", "target-arrow-color": "data(colour)", "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.9 } },
        { selector: "edge[?plaintext]", style: { "line-style": "dashed", "line-dash-pattern": [8, 5] } },
        { selector: ":selected", style: { "overlay-color": "#1d4ed8", "overlay-opacity": 0.18, "overlay-padding": 6 } },
      ],
    });
    /** @type {string} */
    this.shape = "";
    this.cy.on("mouseover", "node", (ev) => on.hover({ kind: "node", node: ev.target.data("node") }));
    this.cy.on("mouseover", "edge", (ev) => on.hover({ kind: "edge", edge: ev.target.data("edge") }));
    this.cy.on("mouseout", "node, edge", () => on.hover(null));
    this.cy.on("tap", "node, edge", (ev) => on.select(ev.target.id()));
  }

  /** @param {{ nodes: GraphNode[], edges: GraphEdge[] }} g */
  update(g) {
    const maxRate = Math.max(1e-9, ...g.edges.map((e) => e.rate_per_s));
    const nodes = g.nodes.map((n) => ({ group: /** @type {const} */ ("nodes"), data: { id: n.id, kind: n.kind, label: n.kind === "service" ? shortService(n.id) : n.id, node: n } }));
    const edges = g.edges.map((e) => ({
      group: /** @type {const} */ ("edges"),
      data: { id: edgeId(e), source: e.source, target: e.destination, width: 1.5 + 8.5 * (e.rate_per_s / maxRate), colour: COLOURS[errorClass(e.error_rate)], plaintext: plaintextWhereMtlsExpected(e), edge: e },
    }));
    const shape = [...nodes.map((n) => n.data.id), ...edges.map((e) => e.data.id)].sort().join("\n");
    if (shape === this.shape) {
      // Same elements: update their data only (keeps positions, zoom and selection).
      for (const x of [...nodes, ...edges]) this.cy.getElementById(x.data.id).data(x.data);
      return;
    }
    const selected = this.cy.$(":selected").map((x) => x.id());
    this.cy.batch(() => {
      this.cy.elements().remove();
      this.cy.add([...nodes, ...edges]);
    });
    for (const id of selected) this.cy.getElementById(id).select();
    this.shape = shape;
    this.cy.layout({ name: "breadthfirst", directed: true, spacingFactor: 1.1, padding: 24, animate: false }).run();
  }

  /** @param {string} id a node or edge id; "" clears */
  select(id) {
    this.cy.$(":selected").unselect();
    if (id) this.cy.getElementById(id).select();
  }

  /** The drawn elements' ids (for tests and the accessible table's consistency). */
  ids() {
    return { nodes: this.cy.nodes().map((n) => n.id()).sort(), edges: this.cy.edges().map((e) => e.id()).sort() };
  }
}
