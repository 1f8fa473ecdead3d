// @ts-check
// Filter health: per workload the proxies and VMs reporting and the filters' own counters; the
// aggregator's batch results and series folded at its cap.
import { el } from "./format.js";

/** @typedef {import("./api.js").Overview["filters"]} Filters */

/**
 * @param {HTMLTableSectionElement} tbody
 * @param {HTMLElement} summary
 * @param {Filters} f
 */
export function renderHealth(tbody, summary, f) {
  const b = f.batches;
  const problems = (b.rejected ?? 0) + (b.shed ?? 0);
  summary.replaceChildren(
    `Batches: ${b.accepted ?? 0} accepted, ${b.duplicate ?? 0} duplicate, `,
    el("span", { class: problems ? "err-bad" : "" }, `${b.rejected ?? 0} rejected, ${b.shed ?? 0} shed`),
    `. Series: ${f.series} of ${f.series_limit}`,
    el("span", { class: f.series_folded ? "err-bad" : "" }, `, ${f.series_folded} folded into overflow`),
    `. Reporting = sent a batch in the last ${f.reporting_seconds / 60} min.`);
  if (f.workloads.length === 0) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: "7" }, "No filter has reported to this aggregator yet.")));
    return;
  }
  tbody.replaceChildren(...f.workloads.map((w) => el("tr", {},
    el("td", {}, `${w.workload}.${w.namespace}`),
    el("td", { class: w.proxies ? "" : "err-bad" }, String(w.proxies)),
    el("td", { class: w.vms ? "" : "err-bad" }, String(w.vms)),
    el("td", {}, String(w.requests)),
    el("td", { class: w.folded_requests ? "err-warn" : "" }, String(w.folded_requests)),
    el("td", { class: w.dropped_batches ? "err-bad" : "" }, String(w.dropped_batches)),
    el("td", { class: w.failed_flushes ? "err-bad" : "" }, String(w.failed_flushes)))));
}
