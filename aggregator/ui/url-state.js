// @ts-check
// The view's state lives in the URL (shareable, survives a reload): window, breakdown, service,
// refresh period.

export const WINDOWS = ["1m", "5m", "15m", "1h"];
export const BREAKDOWNS = ["", "user_tier", "region", "user_tier,region"];

/** @typedef {{ window: string, by: string, service: string, refreshS: number }} ViewState */

/** @returns {ViewState} */
export function readState() {
  const p = new URLSearchParams(location.search);
  const window = p.get("window") ?? "5m";
  const by = p.get("by") ?? "";
  const refreshS = Number(p.get("refresh") ?? "5");
  return {
    window: WINDOWS.includes(window) ? window : "5m",
    by: BREAKDOWNS.includes(by) ? by : "",
    service: p.get("service") ?? "",
    refreshS: Number.isFinite(refreshS) && refreshS >= 1 && refreshS <= 3600 ? refreshS : 5,
  };
}

/** @param {ViewState} s */
export function writeState(s) {
  const p = new URLSearchParams(location.search);
  p.set("window", s.window);
  if (s.by) p.set("by", s.by); else p.delete("by");
  if (s.service) p.set("service", s.service); else p.delete("service");
  const q = `?${p}`;
  if (q !== location.search) history.replaceState(null, "", q);
}
