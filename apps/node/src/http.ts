import { InvalidCollectionIdError, ProximaError } from "@proximadb/core";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import { NodeError, type NodeErrorKind } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";
import type { StorageNode } from "./node.js";

const STATUS: Record<NodeErrorKind, number> = {
  invalid: 400,
  "not-found": 404,
  exists: 409,
  unavailable: 503,
};

type Params = { id: string; rid: string };

/**
 * The node's HTTP API (JSON). Errors are `{ "error": { "kind", "message" } }` with the status of their
 * kind; storage failures are 500 with a secret-free message.
 */
export function createHttpServer(
  node: StorageNode,
  options: { logger: Logger; metrics: NodeMetrics },
): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    // One log line per request would cost more than the request at ingest rates.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: node.config.server.maxBodyBytes,
    // In-flight requests finish on close; idle keep-alive sockets are closed right away.
    forceCloseConnections: "idle",
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    if (err instanceof NodeError) return send(reply, STATUS[err.kind], err.kind, err.message);
    if (err instanceof InvalidCollectionIdError) return send(reply, 400, "invalid", err.message);
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
      // Fastify's own refusals: body too large (413), malformed JSON (400), wrong content type (415).
      const kind = e.statusCode === 413 ? "too-large" : "invalid";
      return send(reply, e.statusCode, kind, e.message ?? "bad request");
    }
    const message = err instanceof ProximaError ? err.message : "internal error";
    request.log.error(
      {
        err: err instanceof ProximaError ? `${err.name}: ${err.message}` : (err as Error)?.name,
        url: request.url,
      },
      "request failed",
    );
    const retryable = err instanceof ProximaError && err.retryable;
    return send(reply, retryable ? 503 : 500, retryable ? "unavailable" : "internal", message);
  });

  app.get("/healthz", async () => ({ status: "ok", collections: node.collections().length }));

  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });

  app.get("/stats", async () => node.stats());

  app.get("/collections", async () => ({ collections: node.collections().map((d) => node.view(d)) }));

  app.post("/collections", async (request, reply) => {
    const body = objectBody(request.body);
    for (const k of Object.keys(body))
      if (k !== "id" && k !== "engine" && k !== "dimension")
        throw new NodeError("invalid", `unknown field ${JSON.stringify(k)}`);
    const view = await node.createCollection({ id: body.id, engine: body.engine, dimension: body.dimension });
    return reply.code(201).send(view);
  });

  app.get<{ Params: Params }>("/collections/:id", async (request) => {
    const def = await node.findDefinition(request.params.id);
    return { ...node.view(def), storage: await node.usage(def) };
  });

  app.delete<{ Params: Params }>("/collections/:id", async (request) => {
    await node.dropCollection(request.params.id);
    return { id: request.params.id, dropped: true };
  });

  app.post<{ Params: Params }>("/collections/:id/records", async (request) => {
    const body = objectBody(request.body);
    const accepted = await node.putRecords(request.params.id, body.records);
    return { accepted };
  });

  app.get<{ Params: Params }>("/collections/:id/records/:rid", async (request) =>
    node.getRecord(request.params.id, request.params.rid),
  );

  app.delete<{ Params: Params }>("/collections/:id/records/:rid", async (request) => {
    await node.deleteRecord(request.params.id, request.params.rid);
    return { id: request.params.rid, deleted: true };
  });

  app.post<{ Params: Params }>("/collections/:id/flush", async (request) => node.flush(request.params.id));

  app.post<{ Params: Params }>("/collections/:id/compact", async (request) =>
    node.compact(request.params.id),
  );

  return app;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new NodeError("invalid", "the request body must be a JSON object");
  return body as Record<string, unknown>;
}

function send(reply: FastifyReply, status: number, kind: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { kind, message } });
}
