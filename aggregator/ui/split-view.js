// @ts-check
// The latency split of one service: per group (all traffic, or per tier / region) a stacked bar
// of the mean split proxy / network / app, p50 / p99 beside it, the verdict with its reason, and
// the window's slowest traced requests, each linked to its trace (trace_url_template).
import { el, fmtMs, fmtPct, fmtRate } from "./format.js";

/** @typedef {import("./api.js").LatencyGroup} LatencyGroup */

const VERDICT_TEXT = /** @type {Record<string, string>} */ ({
  proxy: "proxy-bound", network: "network-bound", application: "application-bound", insufficient_data: "not enough data",
});
const SOURCE_TEXT = /** @type {Record<string, string>} */ ({
  server_timing: "split from the app's Server-Timing", paired_reporters: "split from the client and server sidecars", proxy_only: "upstream not split (no Server-Timing, no server sidecar)",
});

/** @param {LatencyGroup} g */
function groupName(g) {
  const parts = [g.user_tier && `tier ${g.user_tier}`, g.region && `region ${g.region}`].filter(Boolean);
  return parts.length ? parts.join(", ") : "all traffic";
}

/** @param {LatencyGroup} g */
function bar(g) {
  const s = g.split;
  /** @type {[string, number][]} */
  const parts = s.network && s.app ? [["proxy", s.proxy.share], ["network", s.network.share], ["app", s.app.share]] : [["proxy", s.proxy.share], ["upstream", s.upstream.share]];
  const label = parts.map(([n, x]) => `${n} ${fmtPct(x)}`).join(", ");
  const b = el("div", { class: "bar", role: "img", "aria-label": `mean split: ${label}` });
  for (const [n, x] of parts) b.append(el("span", { class: n, style: `width:${(100 * Math.max(0, x)).toFixed(2)}%`, title: `${n} ${fmtPct(x)}` }));
  return { b, label };
}

/** The slowest traced requests; a link only for an http(s) URL (the template is the operator's, the id the traffic's). @param {LatencyGroup} g */
function slowest(g) {
  if (!g.slowest || g.slowest.length === 0) return null;
  return el("div", { class: "slowest" }, el("span", {}, "Slowest traced requests:"),
    el("ul", {}, ...g.slowest.map((s) => {
      const id = el("code", {}, s.trace_id);
      const link = s.trace_url && /^https?:\/\//.test(s.trace_url)
        ? el("a", { href: s.trace_url, target: "_blank", rel: "noopener noreferrer", title: `open trace ${s.trace_id}` }, id)
        : id;
      return el("li", {}, link, ` ${fmtMs(s.request_ms)}`);
    })));
}

/**
 * @param {HTMLElement} root
 * @param {string} service
 * @param {LatencyGroup[] | undefined} groups
 * @param {number} minSamples
 */
export function renderSplit(root, service, groups, minSamples) {
  if (!service) return void root.replaceChildren(el("p", { class: "hint" }, "Select a service in the graph or the list above."));
  if (!groups || groups.length === 0) return void root.replaceChildren(el("p", { class: "notice" }, `No requests to ${service} in this window.`));
  root.replaceChildren(...groups.map((g) => {
    const { b, label } = bar(g);
    const t = g.timings.request;
    const m = (/** @type {string} */ k) => (g.split[/** @type {"proxy"} */ (k)] ? fmtMs(g.split[/** @type {"proxy"} */ (k)].mean_ms) : "–");
    return el("div", { class: "group", "data-verdict": g.verdict },
      el("h3", {}, groupName(g)),
      b,
      el("p", { class: "nums shares" }, label),
      el("p", { class: "nums" },
        el("span", {}, `mean ${fmtMs(t?.mean_ms)}`), el("span", {}, `p50 ${fmtMs(t?.p50_ms)}`), el("span", {}, `p99 ${fmtMs(t?.p99_ms)}`),
        el("span", {}, `proxy ${m("proxy")} · network ${m("network")} · app ${m("app")}`),
        el("span", {}, `${fmtRate(g.rate_per_s)} req/s (${g.requests}, ${g.reporter} reporter; at least ${minSamples} needed)`)),
      el("p", { class: "verdict" }, "Verdict: ", el("strong", { class: g.verdict }, VERDICT_TEXT[g.verdict] ?? g.verdict), ` — ${g.verdict_reason}. `, el("span", { class: "hint" }, SOURCE_TEXT[g.source] ?? g.source)),
      slowest(g));
  }));
}
