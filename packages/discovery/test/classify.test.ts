import {
  COMPONENT_TYPES,
  type ComponentType,
  isCollectionId,
  isDataFile,
  isReservedName,
  ROOT_MARKER_FILE,
  STAGING_DIR,
} from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { classifyKey, type KeyClass } from "../src/index.js";

/** The rules of the README, written the plain way (split into segments): what the fast classifier must match. */
function reference(component: ComponentType, key: string): KeyClass {
  const slash = key.indexOf("/");
  if (slash < 0)
    return key === ROOT_MARKER_FILE ? { kind: "marker" } : { kind: "ignored", reason: "top-level-file" };
  const folder = key.slice(0, slash);
  if (isReservedName(folder)) return { kind: "ignored-folder", folder, reason: "reserved" };
  if (!isCollectionId(folder)) return { kind: "ignored-folder", folder, reason: "invalid-collection-id" };
  const segments = key.slice(slash + 1).split("/");
  const temp = (s: string) =>
    s.startsWith(".") || [".tmp", ".temp", ".part", ".partial", "~"].some((x) => s.endsWith(x));
  if (segments[0] === STAGING_DIR) return { kind: "ignored", reason: "staging" };
  if (segments.some(temp)) return { kind: "ignored", reason: "temp" };
  if (segments.some((s) => s.startsWith("_"))) return { kind: "ignored", reason: "reserved" };
  if (!isDataFile(component, segments.join("/"))) return { kind: "ignored", reason: "not-data" };
  return { kind: "data", collection: folder as never };
}

const KEYS = [
  ROOT_MARKER_FILE,
  "stray.avro",
  "c1/1.avro",
  "c1/1.AVRO",
  "c1/level-0/deep/000001.sst",
  "c1/vectors/part-0.parquet",
  "c1/x.vpr",
  "c1/a.idx",
  "c1/meta.json",
  "c1/.avro",
  "c1/avro",
  "c1/noext",
  "c1/_staging/flush-1/1.avro",
  "c1/_staging/1.avro.part",
  "c1/level-0/_staging/1.avro",
  "c1/_trash/1.avro",
  "c1/_trash/.hidden.avro",
  "c1/level-0/.000004.avro.tmp-1234",
  "c1/1.avro.tmp",
  "c1/1.avro.temp",
  "c1/1.avro.partial",
  "c1/1.avro~",
  "c1/.tmp/1.avro",
  "c1//1.avro",
  "c1/level-0//x.sst",
  "c1/1.avro/",
  "_trash/c9/1.avro",
  ".hidden/1.avro",
  "bad name/1.avro",
  "-dash/1.avro",
  `${"a".repeat(300)}/1.avro`,
  "c-2_x/level-1/000002.lsm",
  "c1/1.bincode",
  "c1/1.hnsw",
  "c1/1.ivf",
  "c1/1.meta",
];

describe("classifyKey", () => {
  it("classifies every key as the plain split-by-segment rules do, for every component", () => {
    for (const component of COMPONENT_TYPES)
      for (const key of KEYS)
        expect([component, key, classifyKey(component, key)]).toEqual([
          component,
          key,
          reference(component, key),
        ]);
  });
});
