import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import { listCollections, ownerFields, redirectReply, registerClusterRoutes } from "./cluster/routes.js";
import { describe } from "./errors.js";
import { httpErrorOf } from "./http-errors.js";
import {
  AJV_OPTIONS,
  type CollectionParams,
  type CreateCollectionBody,
  type PutRecordsBody,
  type RecordParams,
  SCHEMAS,
  schemaError,
} from "./http-schemas.js";
import { registerSearchRoutes } from "./http-search.js";
import type { NodeMetrics } from "./metrics.js";
import { NodeMoves } from "./moves/manager.js";
import { registerMoveRoutes } from "./moves/routes.js";
import type { StorageNode } from "./node.js";

/**
 * The node's HTTP API (JSON). Input is validated by each route's schema (`http-schemas.ts`); errors are
 * `{ "error": { "kind", "message", "retryable" } }` with the status the error catalogue (`http-errors.ts`)
 * gives their kind; storage failures are 500 with a secret-free message.
 */
export function createHttpServer(
  node: StorageNode,
  options: { logger: Logger; metrics: NodeMetrics; moves?: NodeMoves },
): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    // One log line per request would cost more than the request at ingest rates.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: node.config.server.maxBodyBytes,
    // In-flight requests finish on close; idle keep-alive sockets are closed right away.
    forceCloseConnections: "idle",
    ajv: AJV_OPTIONS,
    schemaErrorFormatter: (errors, part) => schemaError(errors, part),
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    if (redirectReply(err, request, reply)) return reply;
    const { entry, message, logged, retryable, roots } = httpErrorOf(err);
    if (logged) request.log.error({ err: describe(err), url: request.url }, "request failed");
    return reply
      .code(entry.status)
      .send({ error: { kind: entry.kind, message, retryable, ...(roots ? { roots } : {}) } });
  });

  app.get("/healthz", async () => ({ status: "ok", collections: node.collections().length }));

  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });

  app.get("/stats", async () => node.stats());

  app.get("/collections", async () => ({ collections: await listCollections(node) }));

  app.post<{ Body: CreateCollectionBody }>(
    "/collections",
    { schema: SCHEMAS.createCollection },
    async (request, reply) => reply.code(201).send(await node.createCollection(request.body)),
  );

  app.get<{ Params: CollectionParams }>(
    "/collections/:id",
    { schema: SCHEMAS.collection },
    async (request) => {
      const def = await node.findDefinition(request.params.id);
      return {
        ...node.view(def),
        ...ownerFields(node, def.id),
        health: node.collectionHealth(def.id),
        storage: await node.usage(def),
        index: await node.search.status(def.id),
      };
    },
  );

  app.delete<{ Params: CollectionParams }>(
    "/collections/:id",
    { schema: SCHEMAS.collection },
    async (request) => {
      await node.dropCollection(request.params.id);
      return { id: request.params.id, dropped: true };
    },
  );

  app.post<{ Params: CollectionParams; Body: PutRecordsBody }>(
    "/collections/:id/records",
    { schema: SCHEMAS.putRecords },
    async (request) => ({ accepted: await node.putRecords(request.params.id, request.body.records) }),
  );

  app.get<{ Params: RecordParams }>(
    "/collections/:id/records/:rid",
    { schema: SCHEMAS.getRecord },
    async (request) => node.getRecord(request.params.id, request.params.rid),
  );

  app.delete<{ Params: RecordParams }>(
    "/collections/:id/records/:rid",
    { schema: SCHEMAS.deleteRecord },
    async (request) => {
      await node.deleteRecord(request.params.id, request.params.rid);
      return { id: request.params.rid, deleted: true };
    },
  );

  app.post<{ Params: CollectionParams }>(
    "/collections/:id/flush",
    { schema: SCHEMAS.collection },
    async (request) => node.flush(request.params.id),
  );

  app.post<{ Params: CollectionParams }>(
    "/collections/:id/compact",
    { schema: SCHEMAS.collection },
    async (request) => node.compact(request.params.id),
  );

  registerSearchRoutes(app, node);
  registerMoveRoutes(app, node, options.moves ?? new NodeMoves(node, options));
  registerClusterRoutes(app, node);
  return app;
}
