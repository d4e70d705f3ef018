import { type CollectionId, InvalidArgumentError, collectionIdProblem } from "@proximadb/core";
import type { OfflineRoot } from "./errors.js";
import { METRICS, type Metric } from "@proximadb/index";

/** The storage engines that can keep a collection's records (each one is also the component it uses). */
export const ENGINE_KINDS = ["viper", "lsm"] as const;

/** The storage engine that keeps a collection's vectors. */
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** True when `x` names a record engine. */
export function isEngineKind(x: unknown): x is EngineKind {
  return (ENGINE_KINDS as readonly unknown[]).includes(x);
}

/** Where one component of a collection lives. */
export interface Placement {
  readonly url: string;
  readonly index: number;
}

/**
 * A collection definition, stored as `<metadata root>/<id>/collection.json` (exclusive create).
 * `placements` records where the WAL and engine were placed at creation, so a restart keeps them even
 * for a collection whose WAL or engine has no data file yet (the listing alone would not show it).
 */
export interface CollectionDefinition {
  readonly format: 1;
  readonly id: CollectionId;
  readonly engine: EngineKind;
  readonly dimension: number;
  /** The distance searches rank by; absent in definitions written before search existed (`cosine`). */
  readonly metric?: Metric;
  /** ISO-8601 creation time. */
  readonly createdAt: string;
  readonly placements: { readonly wal: Placement } & Partial<Record<EngineKind, Placement>>;
}

/** The metric of a collection (definitions without one are `cosine`). */
export function metricOf(definition: Pick<CollectionDefinition, "metric">): Metric {
  return definition.metric ?? "cosine";
}

/** Largest dimension a collection may have. */
export const MAX_DIMENSION = 65536;
/** Longest record id (UTF-8 bytes are the LSM key). */
export const MAX_RECORD_ID_LENGTH = 512;

/** Why `id` is not a valid record id, or undefined. */
export function recordIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return "must be a string";
  if (id.length === 0) return "must not be empty";
  if (id.length > MAX_RECORD_ID_LENGTH) return `must be at most ${MAX_RECORD_ID_LENGTH} characters`;
  if (id.includes("\0")) return "must not contain NUL";
  return undefined;
}

/** Parses and checks a stored definition; throws InvalidArgumentError when it is not one. */
export function parseDefinition(text: string, where: string): CollectionDefinition {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${where} is not valid JSON`);
  }
  const d = v as Partial<CollectionDefinition> | null;
  const ok =
    d !== null &&
    typeof d === "object" &&
    d.format === 1 &&
    collectionIdProblem(d.id) === undefined &&
    isEngineKind(d.engine) &&
    Number.isInteger(d.dimension) &&
    (d.dimension as number) >= 1 &&
    (d.dimension as number) <= MAX_DIMENSION &&
    (d.metric === undefined || METRICS.includes(d.metric)) &&
    typeof d.createdAt === "string" &&
    typeof d.placements === "object" &&
    d.placements !== null &&
    typeof d.placements.wal?.url === "string";
  if (!ok) throw new InvalidArgumentError(`${where} is not a format-1 collection definition`);
  return d as CollectionDefinition;
}

/** A record as the API takes it (validated by the HTTP route schema; the dimension by the node). */
export interface RecordInput {
  readonly id: string;
  readonly vector: readonly number[];
  readonly metadata?: Record<string, unknown> | null;
}

/** A record read back. */
export interface RecordOutput {
  readonly id: string;
  readonly vector: number[];
  readonly metadata: Record<string, unknown> | null;
}

/** The collection object of the API (creation response; `GET /collections/:id` adds `storage`). */
export interface CollectionView {
  readonly id: string;
  readonly engine: EngineKind;
  readonly dimension: number;
  readonly metric: Metric;
  readonly createdAt: string;
  readonly placements: Record<string, Placement>;
  /** `unavailable` while a root it needs is offline: its reads and writes answer 503 until it is back. */
  readonly state: "available" | "unavailable";
  /** For `unavailable`: the offline roots, with their status and what was found there. */
  readonly offline?: readonly OfflineRoot[];
}

/** A new collection's definition, created now, with the WAL's and the engine's placements. */
export function newDefinition(
  id: CollectionId,
  input: CollectionInput,
  at: { wal: Placement; data: Placement },
): CollectionDefinition {
  return {
    format: 1,
    id,
    engine: input.engine,
    dimension: input.dimension,
    metric: metricOf(input),
    createdAt: new Date().toISOString(),
    placements: {
      wal: { url: at.wal.url, index: at.wal.index },
      [input.engine]: { url: at.data.url, index: at.data.index },
    } as CollectionDefinition["placements"],
  };
}

/** What `POST /collections` asks for (checked by the route schema). */
export interface CollectionInput {
  readonly id: string;
  readonly engine: EngineKind;
  readonly dimension: number;
  /** Default `cosine`. */
  readonly metric?: Metric;
}

/** Files and bytes of one component of a collection. */
export interface ComponentUsage {
  readonly url: string;
  readonly index: number;
  readonly files: number;
  readonly bytes: number;
}
