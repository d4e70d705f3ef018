import type { FastifyInstance, FastifySchema } from "fastify";
import type { CollectionParams } from "./http-schemas.js";
import type { StorageNode } from "./node.js";
import { MAX_EF, MAX_K, type SearchQuery } from "./search.js";

/** `POST /collections/:id/search`: what Fastify validates (the dimension is checked by the node). */
export const SEARCH_SCHEMA = {
  params: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
  querystring: { type: "object", properties: {}, additionalProperties: false },
  body: {
    type: "object",
    required: ["vector"],
    additionalProperties: false,
    properties: {
      vector: { type: "array", minItems: 1, items: { type: "number" } },
      k: { type: "integer", minimum: 1, maximum: MAX_K },
      ef: { type: "integer", minimum: 1, maximum: MAX_EF },
    },
  },
} as const satisfies FastifySchema;

/**
 * The search route: `{"vector":[…],"k":10,"ef":…}` → `{"results":[{"id","score","metadata"}],"exact"}`,
 * closest first (`score` is a distance under the collection's metric). `exact: true` when the answer
 * comes from a full scan because the collection's index is not ready (being built, or no index component).
 */
export function registerSearchRoutes(app: FastifyInstance, node: StorageNode): void {
  app.post<{ Params: CollectionParams; Body: SearchQuery }>(
    "/collections/:id/search",
    { schema: SEARCH_SCHEMA },
    async (request) =>
      node.reading(request.params.id, () =>
        node.search.search(node.definition(request.params.id), request.body),
      ),
  );
}
