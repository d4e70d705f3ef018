import type { AssignmentService, ComponentType } from "@proximadb/core";
import { type CollectionDefinition, type CollectionView, type Placement, metricOf } from "./collection.js";
import type { RootHealth } from "./deployment.js";
import { NodeError, type OfflineRoot, collectionNotFound } from "./errors.js";
import type { OrphanCollection } from "./recovery.js";

/** Where a collection's component lives: the assignment (the listing wins), else its definition. */
function urlOf(def: CollectionDefinition, component: ComponentType, service: AssignmentService) {
  return (
    service.get(def.id, component)?.url ??
    (def.placements as Partial<Record<ComponentType, Placement>>)[component]?.url
  );
}

/** The offline root behind a URL, as the API reports it. */
function offlineRoot(component: ComponentType, url: string, health: RootHealth): OfflineRoot | undefined {
  const why = health.refusal(url);
  if (why === undefined) return undefined;
  const c = health.condition(url);
  if (!c)
    return { component, url, status: "unconfigured", reason: "the configuration does not name this root" };
  const prefix = `${c.status}: `;
  return {
    component,
    url,
    status: c.status,
    reason: why.startsWith(prefix) ? why.slice(prefix.length) : why,
  };
}

/**
 * The roots a collection needs (its WAL, its engine, its metadata) that may not be used now. A collection
 * with any is unavailable: its reads and writes answer 503, it is never reported absent.
 */
export function offlineRootsOf(
  def: CollectionDefinition,
  service: AssignmentService,
  health: RootHealth,
): OfflineRoot[] {
  const out: OfflineRoot[] = [];
  for (const component of ["wal", def.engine, "metadata"] as ComponentType[]) {
    const url = urlOf(def, component, service);
    const root = url === undefined ? undefined : offlineRoot(component, url, health);
    if (root) out.push(root);
  }
  return out;
}

const describeRoots = (roots: readonly OfflineRoot[]) =>
  roots.map((r) => `${r.component} root ${r.url} is ${r.status} (${r.reason})`).join("; ");

/** The refusal of a request for a collection whose roots are offline (503 `unavailable`, naming them). */
export function unavailable(id: string, roots: readonly OfflineRoot[]): NodeError {
  return new NodeError(
    "Unavailable",
    `collection ${id} is unavailable: its ${describeRoots(roots)}; it is served again when the root is back`,
    { roots },
  );
}

/**
 * The refusal for an id this node does not know: 404, unless a metadata root is offline — the id may be
 * defined there, so it is 503 `unavailable` naming those roots ("offline is not empty").
 */
export function unknownCollection(id: string, health: RootHealth): NodeError {
  const roots = health.offline("metadata").map((c) => offlineRoot("metadata", c.url, health) as OfflineRoot);
  if (roots.length === 0) return collectionNotFound(id);
  return new NodeError(
    "Unavailable",
    `collection ${JSON.stringify(id)} is not known, but ${describeRoots(roots)} and may define it`,
    { roots },
  );
}

/**
 * Creating never deletes. Refuses to create a collection over data without a definition (an orphan: 409,
 * naming where its data is; the operator removes it by name), and while a root of a component it would
 * be placed in is offline: that root may hold the same id (503 `unavailable`, naming the roots). Nothing
 * is placed or deleted.
 */
export function assertCreatable(
  id: string,
  components: readonly ComponentType[],
  orphans: readonly OrphanCollection[],
  health: RootHealth,
): void {
  const orphan = orphans.find((o) => o.collection === id);
  if (orphan) {
    const where = orphan.locations.map((l) => `${l.component} in ${l.url}`).join(", ");
    throw new NodeError(
      "AlreadyExists",
      `collection ${id} has data without a definition (an orphan: ${where || orphan.reason}); it is not created over it: remove it with \`proximadb orphans remove ${id}\` if that data is not wanted`,
    );
  }
  const roots = components.flatMap((component) =>
    health.offline(component).map((c) => offlineRoot(component, c.url, health) as OfflineRoot),
  );
  if (roots.length === 0) return;
  throw new NodeError(
    "Unavailable",
    `collection ${id} is not created while ${describeRoots(roots)}: it may hold that id; bring the root back (or retire it)`,
    { roots },
  );
}

/** The API view of a collection: where its components live and whether it is served now. */
export function collectionView(
  def: CollectionDefinition,
  service: AssignmentService,
  health: RootHealth,
): CollectionView {
  const placements: Record<string, Placement> = {};
  for (const component of ["wal", def.engine] as const) {
    const a = service.get(def.id, component);
    const p = a ? { url: a.url, index: service.rootIndex(component, a.url) } : def.placements[component];
    if (p) placements[component] = p;
  }
  const offline = offlineRootsOf(def, service, health);
  return {
    id: def.id,
    engine: def.engine,
    dimension: def.dimension,
    metric: metricOf(def),
    createdAt: def.createdAt,
    placements,
    state: offline.length === 0 ? "available" : "unavailable",
    ...(offline.length === 0 ? {} : { offline }),
  };
}
