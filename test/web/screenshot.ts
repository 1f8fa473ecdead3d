// `npm run screenshot`: regenerates docs/web-ui.png, the page over the sample mesh (the demo's
// settings, at 60 req/s) at 1280×800, with payment selected and broken down by user tier.
import { fileURLToPath } from "node:url";
import { launchChromium, startStack } from "./stack.ts";

// The waitForFunction callback runs in the page; this program is typed for Node.
declare const document: { querySelectorAll(sel: string): ArrayLike<{ getAttribute(name: string): string | null }> };

const OUT = fileURLToPath(new URL("../../docs/web-ui.png", import.meta.url));

async function main(): Promise<void> {
  const stack = await startStack({ rps: 60 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${stack.agg.url}/?window=1m&by=user_tier&refresh=2&service=${stack.mesh.fqdn("payment")}`);
    // Every tier has enough requests for a verdict (or a minute passed).
    await page.waitForFunction(() => {
      const groups = Array.from(document.querySelectorAll("#split .group"));
      return groups.length >= 4 && groups.every((g) => g.getAttribute("data-verdict") !== "insufficient_data");
    }, null, { timeout: 60_000, polling: 500 });
    await page.locator(`#edges button[data-edge="checkout.${stack.mesh.namespace}->${stack.mesh.fqdn("payment")}"]`).focus();
    await page.screenshot({ path: OUT, fullPage: true });
    console.log(`wrote ${OUT}`);
  } finally {
    await browser.close();
    await stack.close();
  }
}

main().catch((err) => {
  console.error(`screenshot: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
