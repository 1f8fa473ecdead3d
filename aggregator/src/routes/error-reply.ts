// Every HTTP error leaves through here: any error (ours or fastify's) maps onto the catalog, is
// logged, and is sent as the catalog's body, so every error response carries a stable code.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { AggError } from "../errors.ts";

/** Maps fastify's own errors onto the catalog. */
export function toAggError(err: FastifyError | AggError): AggError {
  if (err instanceof AggError) return err;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE": return new AggError("AGG_ERR_TOO_LARGE", err.message);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE": return new AggError("AGG_ERR_CONTENT_TYPE", "content-type must be application/msgpack", "", { closeConnection: true });
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
    case "FST_ERR_CTP_EMPTY_JSON_BODY": return new AggError("AGG_ERR_DECODE", err.message);
  }
  if (err.statusCode === 503) return new AggError("AGG_ERR_SHUTTING_DOWN", "shutting down");
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new AggError("AGG_ERR_DECODE", err.message);
  return new AggError("AGG_ERR_INTERNAL", "internal error");
}

export function sendError(err: FastifyError | AggError, e: AggError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (e.code === "AGG_ERR_INTERNAL") req.log.error({ err }, "internal error");
  else req.log.info({ code: e.code, path: e.path }, e.message);
  if (e.retryAfterS !== undefined) reply.header("retry-after", String(e.retryAfterS));
  if (e.closeConnection) {
    // The rest of the body is not read: without closing, the socket would stay with the client.
    reply.header("connection", "close");
    reply.raw.once("finish", () => reply.raw.socket?.destroy());
  }
  return reply.code(e.statusCode).send(e.toJSON());
}

/** JSON schema of an error body (response schemas of the JSON routes). */
export const ERROR_BODY = {
  type: "object",
  required: ["code", "message", "path"],
  properties: { code: { type: "string" }, message: { type: "string" }, path: { type: "string" } },
} as const;
