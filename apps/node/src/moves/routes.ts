import type { FastifyInstance, FastifySchema } from "fastify";
import type { CollectionParams } from "../http-schemas.js";
import type { StorageNode } from "../node.js";
import { uncordon, withConfiguredRoot } from "./cordon.js";
import { startDrain } from "./drain.js";
import type { NodeMoves } from "./manager.js";

const noQuery = { type: "object", properties: {}, additionalProperties: false } as const;

/** `POST /collections/:id/moves` as Fastify validates it. */
export const START_MOVE_SCHEMA = {
  params: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
  querystring: noQuery,
  body: {
    type: "object",
    required: ["component", "to"],
    additionalProperties: false,
    properties: {
      component: { type: "string", minLength: 1 },
      to: { type: "string", minLength: 1 },
      maxBytesPerSecond: { type: "number", minimum: 0 },
    },
  },
} as const satisfies FastifySchema;

const MOVE_SCHEMA = {
  params: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
  querystring: noQuery,
} as const satisfies FastifySchema;

const DRAIN_SCHEMA = {
  querystring: noQuery,
  body: {
    type: "object",
    required: ["url"],
    additionalProperties: false,
    properties: { url: { type: "string", minLength: 1 } },
  },
} as const satisfies FastifySchema;

/** Body of `POST /collections/:id/moves`. */
export interface StartMoveBody {
  component: string;
  to: string;
  maxBytesPerSecond?: number;
}

/**
 * The move routes: `POST /collections/:id/moves {"component","to"[,"maxBytesPerSecond"]}` → 202
 * `{"move":{…}}`; `GET /moves` → `{"moves":[…]}`; `GET /moves/:id` → `{"move":{…}}` (state, bytes done,
 * total); `POST /roots/drain {"url"}` → 202 `{"drain":{"url","components","moves","skipped"}}` (the cordon
 * lasts across restarts); `POST /roots/uncordon {"url"}` → 200 `{"root":{"url","components","state"}}`.
 */
export function registerMoveRoutes(app: FastifyInstance, node: StorageNode, moves: NodeMoves): void {
  app.post<{ Params: CollectionParams; Body: StartMoveBody }>(
    "/collections/:id/moves",
    { schema: START_MOVE_SCHEMA },
    async (request, reply) => {
      const { component, to, maxBytesPerSecond } = request.body;
      const move = moves.start({
        collection: request.params.id,
        component,
        to,
        ...(maxBytesPerSecond === undefined ? {} : { maxBytesPerSecond }),
      });
      return reply.code(202).send({ move });
    },
  );
  app.get("/moves", { schema: { querystring: noQuery } }, async () => ({ moves: moves.list() }));
  app.get<{ Params: { id: string } }>("/moves/:id", { schema: MOVE_SCHEMA }, async (request) => ({
    move: moves.get(request.params.id),
  }));
  app.post<{ Body: { url: string } }>("/roots/drain", { schema: DRAIN_SCHEMA }, async (request, reply) =>
    reply.code(202).send({ drain: await startDrain(node, moves, request.body.url) }),
  );
  app.post<{ Body: { url: string } }>("/roots/uncordon", { schema: DRAIN_SCHEMA }, async (request) => {
    const configured = (c: keyof typeof node.config.components, u: string) => {
      const cc = node.config.components[c];
      const i = cc?.roots.findIndex((r) => r.url === u) ?? -1;
      return cc?.rootOptions[i]?.state ?? "active";
    };
    return {
      root: await withConfiguredRoot(node, request.body.url, "un-cordon", (root) =>
        uncordon(node.service, root, configured),
      ),
    };
  });
  app.addHook("onClose", async () => {
    await moves.close();
  });
}
