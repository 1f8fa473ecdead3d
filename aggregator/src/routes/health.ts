// GET /healthz (the process serves requests) and GET /readyz (listening and not shutting down).
import type { FastifyInstance } from "fastify";

export async function healthRoutes(app: FastifyInstance, opts: { ready: () => boolean }): Promise<void> {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    if (opts.ready()) return { status: "ready" };
    return reply.code(503).send({ status: "not_ready" });
  });
}
