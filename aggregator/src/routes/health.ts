// GET /healthz (the process serves requests) and GET /readyz (listening and not shutting down).
import type { FastifyInstance } from "fastify";

const status = (values: readonly string[]) =>
  ({ type: "object", required: ["status"], properties: { status: { type: "string", enum: values } } }) as const;

export async function healthRoutes(app: FastifyInstance, opts: { ready: () => boolean }): Promise<void> {
  app.get("/healthz", { schema: { response: { 200: status(["ok"]) } } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { response: { 200: status(["ready"]), 503: status(["not_ready"]) } } }, async (_req, reply) => {
    if (opts.ready()) return { status: "ready" };
    return reply.code(503).send({ status: "not_ready" });
  });
}
