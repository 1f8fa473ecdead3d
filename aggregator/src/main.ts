// Entry point: flags/env → config → build → listen → signals. Exit status 2 on a bad config.
import { loadConfig } from "./config.ts";
import { AggError } from "./errors.ts";
import { build } from "./app.ts";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof AggError) {
      process.stderr.write(JSON.stringify({ level: "fatal", code: e.code, path: e.path, msg: e.message }) + "\n");
      process.exit(2);
    }
    throw e;
  }
  const app = build(config);
  const { fastify } = app;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Draining first: new batches get 503 (the filter keeps and resends them elsewhere) while
    // Prometheus can still scrape what this process acknowledged.
    app.drain();
    fastify.log.info({ signal, drain_period_ms: config.drain_period_ms }, "draining: ingest answers 503, /metrics still served");
    setTimeout(() => {
      fastify.log.info("shutting down: finishing in-flight requests");
      const force = setTimeout(() => { fastify.log.error("shutdown timed out"); process.exit(1); }, config.shutdown_timeout_ms);
      force.unref();
      fastify.close().then(() => process.exit(0), (err) => { fastify.log.error({ err }, "close failed"); process.exit(1); });
    }, config.drain_period_ms);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await fastify.listen({ port: config.port, host: config.host });
}

main().catch((err) => {
  process.stderr.write(JSON.stringify({ level: "fatal", code: "AGG_ERR_INTERNAL", msg: String(err?.stack ?? err) }) + "\n");
  process.exit(1);
});
