import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type RootSet, useBackend } from "@proximadb/testing-backends";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ViperEngine } from "../src/index.js";
import { expected, makeRecords, openViper, plain } from "./helpers.js";

/** DuckDB is an independent Parquet reader: every file VIPER writes must read back as the same rows. */
describe("DuckDB reads VIPER's Parquet files on local disk", () => {
  const local = useBackend("local");
  let fixture: RootSet; // made in beforeAll: it lives until the suite ends
  let viper: ViperEngine;
  let db: DuckDBInstance;
  beforeAll(async () => {
    fixture = await local.roots("root", 1);
    viper = await openViper(fixture);
    db = await DuckDBInstance.create(":memory:");
  });
  afterAll(async () => {
    db?.closeSync();
    await viper?.close();
  });

  async function query(sql: string): Promise<Record<string, unknown>[]> {
    const conn = await db.connect();
    try {
      return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    } finally {
      conn.closeSync();
    }
  }
  const path = (key: string) => join(fixture.localPath(fixture.urls[0] as string), key).replaceAll("'", "''");

  it("sees the ids, vectors, metadata, sequence and deleted flag of a flush file", async () => {
    const batch = [...makeRecords(200, 8, { seed: 3 }), { id: "gone", deleted: true }];
    const result = await viper.flush("interop", batch);
    if (!result) throw new Error("nothing flushed");
    const rows = await query(
      `SELECT id, vector, metadata, sequence, deleted FROM read_parquet('${path(result.key)}') ORDER BY id`,
    );
    expect(rows).toHaveLength(201);
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    for (const r of batch) {
      const row = byId.get(r.id);
      if (!row) throw new Error(`DuckDB did not return ${r.id}`);
      expect(row.sequence).toBe(1n);
      expect(row.deleted).toBe(r.deleted === true);
      if (r.deleted) continue;
      expect((row.vector as number[]).map(Math.fround)).toEqual(Array.from(r.vector ?? []));
      expect(JSON.parse(row.metadata as string)).toEqual(r.metadata);
    }
    const kv = await query(
      `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${path(result.key)}') WHERE decode(key) LIKE 'proximadb.%'`,
    );
    expect(Object.fromEntries(kv.map((r) => [r.k, r.v]))).toEqual({
      "proximadb.viper.format": "1",
      "proximadb.viper.dimension": "8",
    });
  });

  it("reads the live rows of compaction output exactly as VIPER's scan does", async () => {
    const b1 = makeRecords(300, 8, { seed: 4 });
    const b2 = [...makeRecords(100, 8, { seed: 5, start: 250 }), { id: "rec-0", deleted: true }];
    await viper.flush("merged", b1);
    await viper.flush("merged", b2);
    const result = await viper.compact("merged", { targetFileBytes: 8_000 });
    expect(result.outputs.length).toBeGreaterThan(1);
    const files = result.outputs.map((k) => `'${path(k)}'`).join(", ");
    const rows = await query(`SELECT id, vector, metadata FROM read_parquet([${files}]) ORDER BY id`);
    const fromDuck = rows.map((r) => ({
      id: r.id as string,
      vector: (r.vector as number[]).map(Math.fround),
      metadata: JSON.parse(r.metadata as string) as unknown,
    }));
    expect(fromDuck.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(plain(expected([b1, b2]).values()));
  });
});
