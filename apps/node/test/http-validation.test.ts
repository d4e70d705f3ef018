import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessNode, openInProcess } from "./in-process.js";

/** Bodies of `POST /collections`: [what, body, a fragment the message must contain]. */
const BAD_COLLECTIONS: [string, unknown, string][] = [
  ["a collection id that escapes", { id: "../etc", engine: "viper", dimension: 3 }, "invalid collection id"],
  ["a reserved collection id", { id: "_hidden", engine: "viper", dimension: 3 }, "must not start with '_'"],
  [
    "an unknown engine",
    { id: "ok", engine: "faiss", dimension: 3 },
    'engine must be one of "viper", "lsm" (got "faiss")',
  ],
  [
    "dimension 0",
    { id: "ok", engine: "lsm", dimension: 0 },
    "dimension must be an integer in 1..65536 (got 0)",
  ],
  [
    "a fractional dimension",
    { id: "ok", engine: "lsm", dimension: 2.5 },
    "dimension must be an integer (got 2.5)",
  ],
  ["a dimension in a string", { id: "ok", engine: "lsm", dimension: "3" }, "dimension must be an integer"],
  ["an unknown field", { id: "ok", engine: "lsm", dimension: 3, extra: 1 }, 'unknown field "extra"'],
  ["a missing field", { engine: "lsm", dimension: 3 }, "id is required"],
  ["a body that is not an object", [1, 2], "the request body must be a JSON object"],
];

/** The `records` of `POST /collections/kv/records` (dimension 2): [what, records, a message fragment]. */
const BAD_RECORDS: [string, unknown, string][] = [
  [
    "a vector of the wrong dimension",
    [{ id: "n", vector: [1, 2, 3] }],
    "records[0]: vector has 3 values; the collection's dimension is 2",
  ],
  ["a vector with a string", [{ id: "n", vector: [1, "x"] }], "records[0].vector[1] must be a number"],
  ["an empty record id", [{ id: "", vector: [1, 2] }], "records[0].id must not be empty"],
  [
    "metadata that is an array",
    [{ id: "n", vector: [1, 2], metadata: [1] }],
    "records[0].metadata must be a JSON object or null",
  ],
  ["an unknown record field", [{ id: "n", vector: [1, 2], x: 1 }], 'records[0]: unknown field "x"'],
  ["a record that is not an object", [5], "records[0] must be a JSON object"],
  ["records that are not an array", "x", "records must be an array"],
  [
    "a later bad record in a batch",
    [{ id: "n", vector: [1, 2] }, { id: "m" }],
    "records[1].vector is required",
  ],
];

/** A bad request: what it is, its method, URL and body, and a fragment the message must contain. */
type BadRequest = [what: string, method: string, url: string, body: unknown, fragment: string];

const BAD: BadRequest[] = [
  ...BAD_COLLECTIONS.map(
    ([what, body, fragment]): BadRequest => [what, "POST", "/collections", body, fragment],
  ),
  [
    "an unknown query parameter",
    "POST",
    "/collections?x=1",
    { id: "ok", engine: "lsm", dimension: 3 },
    'unknown query parameter "x"',
  ],
  ...BAD_RECORDS.map(
    ([what, records, fragment]): BadRequest => [
      what,
      "POST",
      "/collections/kv/records",
      { records },
      fragment,
    ],
  ),
  [
    "a record id with NUL to delete",
    "DELETE",
    "/collections/kv/records/%00",
    undefined,
    "invalid record id: must not contain NUL",
  ],
];

describe("HTTP input validation (route schemas)", () => {
  let n: InProcessNode;
  const call = (method: string, url: string, payload?: unknown) => n.call(method, url, payload);

  beforeAll(async () => {
    n = await openInProcess();
    await call("POST", "/collections", { id: "kv", engine: "lsm", dimension: 2 });
    await call("POST", "/collections/kv/records", { records: [{ id: "kept", vector: [1, 2] }] });
  });
  afterAll(async () => {
    await n?.close();
  });

  it.each(BAD)(
    "refuses %s with 400 `invalid` naming the problem, and changes nothing",
    async (_what, method, url, body, fragment) => {
      const r = await call(method, url, body);
      expect(r.status).toBe(400);
      expect(r.json.error.kind).toBe("invalid");
      expect(r.json.error.message).toContain(fragment);
      expect(n.node.collections().map((d) => d.id)).toEqual(["kv"]);
      expect((await call("GET", "/collections/kv/records/n")).status).toBe(404);
      expect((await call("GET", "/collections/kv/records/kept")).json).toEqual({
        id: "kept",
        vector: [1, 2],
        metadata: null,
      });
    },
  );

  it("answers a malformed record id on a read as an absent record (404), not as bad input", async () => {
    expect((await call("GET", "/collections/kv/records/%00")).status).toBe(404);
  });

  it("answers an invalid collection id in a path as an absent collection (404)", async () => {
    const r = await call("GET", "/collections/..%2Fetc");
    expect(r.status).toBe(404);
    expect(r.json.error.kind).toBe("not-found");
  });

  it("checks the collection before the dimension: records for an absent collection are 404", async () => {
    expect(
      (await call("POST", "/collections/nope/records", { records: [{ id: "a", vector: [1, 2, 3] }] })).status,
    ).toBe(404);
  });
});
