import { DEFAULT_INDEX_SETTINGS } from "@proximadb/index";
import { z } from "zod";

/** `[storage.index_config]` graph defaults for new indexes (unset: the index engine's own defaults). */
export interface IndexDefaults {
  readonly m?: number;
  readonly efConstruction?: number;
  readonly efSearch?: number;
}

/** Graph keys of `[storage.index_config]`: `m` (2–100), `ef_construction` (`m`–4096), `ef_search` (1–4096). */
export const INDEX_GRAPH_KEYS = {
  m: z.number().int().min(2).max(100).optional(),
  ef_construction: z.number().int().min(2).max(4096).optional(),
  ef_search: z.number().int().min(1).max(4096).optional(),
};

/** The cross-key rule of the table: `ef_construction` at least `m` (either one defaulted). */
export function efConstructionAtLeastM(t: {
  m?: number | undefined;
  ef_construction?: number | undefined;
}): boolean {
  return (t.ef_construction ?? DEFAULT_INDEX_SETTINGS.efConstruction) >= (t.m ?? DEFAULT_INDEX_SETTINGS.m);
}

/** Where and how {@link efConstructionAtLeastM} reports. */
export const EF_CONSTRUCTION_ISSUE: { path: PropertyKey[]; message: string } = {
  path: ["ef_construction"],
  message: "must be at least m",
};

/** The graph defaults of a validated `[storage.index_config]` table. */
export function indexDefaults(
  table:
    | { m?: number | undefined; ef_construction?: number | undefined; ef_search?: number | undefined }
    | undefined,
): IndexDefaults {
  return {
    ...(table?.m === undefined ? {} : { m: table.m }),
    ...(table?.ef_construction === undefined ? {} : { efConstruction: table.ef_construction }),
    ...(table?.ef_search === undefined ? {} : { efSearch: table.ef_search }),
  };
}
