import {
  type AssignmentService,
  type CollectionId,
  type ComponentType,
  StoreConflictError,
  UnknownRootError,
} from "@proximadb/core";
import { CheckpointAheadError, type WalEntry, type WriteAheadLog } from "@proximadb/wal";
import pLimit from "p-limit";
import type { Logger } from "pino";
import type { CollectionCatalog, WalCheckpoint } from "./catalog.js";
import type { CollectionDefinition } from "./collection.js";
import { CollectionState } from "./collection-state.js";
import type { EngineRegistry } from "./engines/registry.js";
import { describe } from "./errors.js";

/**
 * A collection found on storage without a readable definition. Reported with where its data is, never
 * deleted and never created again over (`proximadb orphans remove <id>` removes it when asked by name).
 */
export interface OrphanCollection {
  readonly collection: string;
  readonly components: ComponentType[];
  /** Where its data is: one root per component (online roots; offline ones are not listed). */
  readonly locations: { component: ComponentType; url: string }[];
  readonly reason: string;
}

/** What recovery reads and writes. */
export interface RecoveryOptions {
  readonly catalog: CollectionCatalog;
  readonly engines: EngineRegistry;
  readonly service: AssignmentService;
  readonly wal: WriteAheadLog;
  readonly logger: Logger;
  /** Metadata roots offline now (a definition may be there): named in the orphans' reason. */
  readonly offlineMetadata?: readonly string[];
}

const DEFINITION_READS = 32;
const REPLAY_CONCURRENCY = 8;
const REPLAY_BATCH = 1000;

/**
 * Reads every definition the metadata listing shows and pins the placements it records (a collection
 * created but never written keeps its roots); where discovery found the data elsewhere the listing wins.
 * A collection with a drop tombstone is not served: its drop resumes (`dropping`). Data without a
 * definition (a drop of an older version, or a definition in an offline root) is an orphan.
 */
export async function loadCollections(o: RecoveryOptions): Promise<{
  states: CollectionState[];
  orphans: OrphanCollection[];
  dropping: CollectionId[];
}> {
  const orphans: OrphanCollection[] = [];
  const dropping: CollectionId[] = [];
  const located = (collection: string, components: ComponentType[]) =>
    components.flatMap((component) => {
      const url = o.service.get(collection, component)?.url;
      return url === undefined ? [] : [{ component, url }];
    });
  const orphan = (collection: string, components: ComponentType[], reason: string) => {
    const known = orphans.find((x) => x.collection === collection);
    if (!known)
      return orphans.push({ collection, components, locations: located(collection, components), reason });
    known.components.push(...components);
    known.locations.push(...located(collection, components));
  };
  const limit = pLimit(DEFINITION_READS);
  const defs = await Promise.all(
    o.catalog.listed().map((id) =>
      limit(async () => {
        try {
          if (await o.catalog.tombstone(id)) {
            dropping.push(id);
            return undefined;
          }
          const def = await o.catalog.definition(id);
          if (!def) orphan(id, ["metadata"], "no collection definition");
          return def;
        } catch (err) {
          orphan(id, ["metadata"], describe(err));
          return undefined;
        }
      }),
    ),
  );
  const states: CollectionState[] = [];
  for (const def of defs) {
    if (!def) continue;
    await pinPlacements(def, o);
    states.push(new CollectionState(def, o.engines.record(def.engine)));
  }
  const defined = new Set([...states.map((s) => s.definition.id as string), ...dropping]);
  const undefinedData = new Map<string, ComponentType[]>();
  for (const store of o.engines.dataStores()) {
    for (const id of store.collections()) {
      if (defined.has(id)) continue;
      const list = undefinedData.get(id) ?? [];
      list.push(store.component);
      undefinedData.set(id, list);
    }
  }
  const offline = o.offlineMetadata ?? [];
  const why =
    offline.length === 0
      ? "data without a collection definition"
      : `data without a definition on the online metadata roots; offline metadata root ${offline.join(", ")} may hold it`;
  for (const [collection, components] of undefinedData) {
    orphan(collection, components, why);
    o.logger.warn({ collection, components }, `${why} (not served, never created over)`);
  }
  return { states, orphans, dropping: dropping.sort() };
}

async function pinPlacements(def: CollectionDefinition, o: RecoveryOptions): Promise<void> {
  for (const component of ["wal", def.engine] as const) {
    const want = def.placements[component];
    if (!want) continue;
    const found = o.service.get(def.id, component);
    if (found) {
      if (found.url !== want.url)
        o.logger.warn(
          { collection: def.id, component, found: found.url, defined: want.url },
          "collection found in another root than its definition says; the listing wins",
        );
      continue;
    }
    try {
      await o.service.record({
        collection: def.id,
        component,
        url: want.url,
        assignedAt: Date.parse(def.createdAt),
      });
    } catch (err) {
      if (!(err instanceof StoreConflictError || err instanceof UnknownRootError)) throw err;
      o.logger.warn(
        { collection: def.id, component, err: describe(err) },
        "cannot keep the defined placement",
      );
    }
  }
}

/** Replays each collection's WAL after its checkpoint into memory; resolves to the records replayed. */
export async function replayWal(states: readonly CollectionState[], o: RecoveryOptions): Promise<number> {
  const limit = pLimit(REPLAY_CONCURRENCY);
  const wal = o.engines.store("wal");
  let replayed = 0;
  await Promise.all(
    states.map((state) =>
      limit(async () => {
        const id = state.definition.id;
        const after = await checkpointOf(id, o);
        if (after === 0 && !wal.locate(id)) return;
        state.lastApplied = after;
        state.checkpointed = after;
        try {
          // The WAL never issues a sequence at or below the checkpoint from here on.
          await o.wal.recover(id, { checkpoint: after });
        } catch (err) {
          if (!(err instanceof CheckpointAheadError)) throw err;
          state.unavailable = `its WAL ends at sequence ${err.lastSequence}, below the checkpoint ${after}: WAL segments were lost (${err.root ?? "unknown root"})`;
          o.logger.error({ collection: id, err: describe(err) }, "collection unavailable");
          return;
        }
        let batch: WalEntry[] = [];
        let first = 0;
        const applyBatch = async () => {
          if (batch.length === 0) return;
          await state.apply(first, batch);
          batch = [];
        };
        for await (const r of o.wal.replay(id, { after })) {
          if (batch.length === 0 || r.sequence !== first + batch.length) {
            await applyBatch();
            first = r.sequence;
          }
          batch.push(
            r.op === "delete"
              ? { op: "delete", id: r.id }
              : {
                  op: "put",
                  id: r.id,
                  ...(r.vector ? { vector: r.vector } : {}),
                  ...(r.metadata === undefined ? {} : { metadata: r.metadata }),
                },
          );
          if (batch.length >= REPLAY_BATCH) await applyBatch();
          replayed++;
        }
        await applyBatch();
      }),
    ),
  );
  o.logger.info({ collections: states.length, replayed }, "recovery finished");
  return replayed;
}

/**
 * The checkpoint recovery replays after: the catalog's, capped at the start of any higher WAL epoch than
 * the one that wrote it (a stale owner's flush that raced a takeover may have written past the new
 * owner's first sequence). 0 when it is unreadable (replays everything).
 */
export async function checkpointOf(
  id: CollectionId,
  o: Pick<RecoveryOptions, "catalog" | "wal" | "logger">,
): Promise<number> {
  let stored: WalCheckpoint;
  try {
    stored = await o.catalog.checkpointAt(id);
  } catch (err) {
    o.logger.warn({ collection: id, err: describe(err) }, "unreadable WAL checkpoint; replaying all");
    return 0;
  }
  if (stored.walSequence === 0) return 0;
  const cap = await o.wal.checkpointCap(id, stored.epoch);
  if (stored.walSequence <= cap) return stored.walSequence;
  o.logger.warn(
    { collection: id, checkpoint: stored.walSequence, epoch: stored.epoch, cap },
    "WAL checkpoint of a fenced-out writer is past the next epoch's start; replaying from there",
  );
  return cap;
}
