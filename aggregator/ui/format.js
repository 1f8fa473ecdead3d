// @ts-check
// Small DOM and number helpers. Every value from the API goes into the page as text (labels come
// from traffic and may be forged), never as HTML.

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string | null | undefined)[]} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** @param {number | null | undefined} ms */
export const fmtMs = (ms) => (ms === null || ms === undefined ? "–" : ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`);
/** @param {number | null | undefined} x share in [0, 1] */
export const fmtPct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`);
/** @param {number} r */
export const fmtRate = (r) => (r < 10 ? r.toFixed(2) : r.toFixed(1));
/** Error-rate class, the same thresholds as the graph's edge colours. @param {number} e */
export const errorClass = (e) => (e >= 0.05 ? "bad" : e >= 0.01 ? "warn" : "ok");
/** `checkout.shop.svc.cluster.local` → `checkout.shop`. @param {string} fqdn */
export const shortService = (fqdn) => fqdn.replace(/\.svc\.cluster\.local$/, "");

/**
 * Plaintext where mTLS is expected: both sidecars reported the edge (the client side counted it
 * and the server side saw its connections), so Istio's auto mTLS would have used mTLS, yet some
 * of the server's connections were plaintext.
 * @param {{ reporter: string, mtls_share: number | null }} e
 */
export const plaintextWhereMtlsExpected = (e) => e.reporter === "source" && e.mtls_share !== null && e.mtls_share < 1;
