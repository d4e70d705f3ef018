import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CollectionView } from "../collection.js";
import { NodeError } from "../errors.js";
import type { StorageNode } from "../node.js";
import { OwnedElsewhereError } from "./errors.js";

/** `owner` and `epoch` of a collection (with several nodes; nothing on a single node). */
export function ownerFields(node: StorageNode, id: string): { owner?: string | null; epoch?: number | null } {
  return node.cluster ? node.cluster.ownerOf(id) : {};
}

/**
 * `GET /collections`: on a single node the collections it serves; with several nodes every collection
 * of the cluster (from the shared placement map; definitions read from their metadata roots), each
 * with its `owner` and `epoch`.
 */
export async function listCollections(node: StorageNode): Promise<(CollectionView & object)[]> {
  const cluster = node.cluster;
  if (!cluster) return node.collections().map((d) => node.view(d));
  const ids = [...new Set(node.service.list("metadata").map((a) => a.collection as string))].sort();
  const out: (CollectionView & object)[] = [];
  for (const id of ids) {
    try {
      const def = await node.findDefinition(id);
      out.push({ ...node.view(def), ...cluster.ownerOf(id) });
    } catch (err) {
      if (err instanceof NodeError && err.kind === "NotFound") continue; // being created or dropped
      throw err;
    }
  }
  return out;
}

/** Answers a request for a collection another node owns with 307 to that node (same path and query). */
export function redirectReply(err: unknown, request: FastifyRequest, reply: FastifyReply): boolean {
  if (!(err instanceof OwnedElsewhereError)) return false;
  reply
    .code(307)
    .header("location", err.location(request.url))
    .send({ error: { kind: "moved", message: err.message, retryable: true, owner: err.owner } });
  return true;
}

/**
 * Routing of several nodes: every request naming a collection (`/collections/:id…`) is checked before
 * its body is read — served here, 307 to the owner, or 503 with `Retry-After` while no node serves it
 * (a takeover or replay in progress). `GET /cluster` lists the live nodes.
 */
export function registerClusterRoutes(app: FastifyInstance, node: StorageNode): void {
  app.addHook("onRequest", async (request, reply) => {
    const cluster = node.cluster;
    if (!cluster) return;
    const id = (request.params as { id?: unknown } | undefined)?.id;
    if (typeof id !== "string" || !request.url.startsWith("/collections/")) return;
    const route = cluster.route(id);
    if (route.to === "here") return;
    if (route.to === "nowhere") reply.header("retry-after", "1");
    throw route.error;
  });

  app.get("/cluster", async (request) => {
    if (node.cluster) return { nodes: node.cluster.nodes() };
    const url = `${request.protocol}://${request.host}`;
    return {
      nodes: [
        { id: node.config.server.nodeId, url, collections: node.collections().length, leaseTtlMs: null },
      ],
    };
  });
}
