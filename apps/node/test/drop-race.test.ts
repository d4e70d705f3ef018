import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningNode, startNode, tempDir } from "./helpers.js";

const ROUNDS = 30;
const RECORDS = 40;

type Response = Awaited<ReturnType<RunningNode["request"]>>;

/**
 * The race of the issue: `DELETE /collections/:id` of a flushed collection, then `POST /collections` of
 * the same id a few milliseconds later, through the HTTP API of the built binary on local disk, round
 * after round on one id (both engines, 0-9 ms apart). The drop is an intent first and the id stays
 * reserved until it completes: the create answers 409 `exists` ("being dropped") until then, never 500,
 * and the collection created after it never shows a record from before the drop.
 */
describe("DELETE then POST of the same collection id a few milliseconds apart (built binary, local disk)", () => {
  const cwd = tempDir();
  let node: RunningNode;
  const seen = {
    drops: [] as Response[],
    creates: [] as Response[],
    refusals: [] as Response[],
    /** `round: what` for every answer that breaks the rules. */
    wrong: [] as string[],
  };

  beforeAll(async () => {
    node = await startNode(cwd);
    const id = "race";
    const recordsOf = (round: number) =>
      Array.from({ length: RECORDS }, (_, i) => ({ id: `g${round}-${i}`, vector: [round, i, 1] }));
    const expectOk = (round: number, what: string, r: Response, status = 200) => {
      if (r.status !== status) seen.wrong.push(`${round}: ${what} answered ${r.status} ${r.text}`);
    };
    expectOk(
      -1,
      "first create",
      await node.request("POST", "/collections", { id, engine: "lsm", dimension: 3 }),
      201,
    );
    for (let round = 0; round < ROUNDS; round++) {
      expectOk(
        round,
        "put",
        await node.request("POST", `/collections/${id}/records`, { records: recordsOf(round) }),
      );
      expectOk(round, "flush", await node.request("POST", `/collections/${id}/flush`));
      const engine = round % 2 === 0 ? "viper" : "lsm";
      const drop = node.request("DELETE", `/collections/${id}`);
      await new Promise((r) => setTimeout(r, round % 10));
      let created = await node.request("POST", "/collections", { id, engine, dimension: 3 });
      const dropped = await drop;
      seen.drops.push(dropped);
      expectOk(round, "drop", dropped);
      if (created.status === 409) {
        seen.refusals.push(created);
        if (created.json?.error?.kind !== "exists") seen.wrong.push(`${round}: 409 of kind ${created.text}`);
        created = await node.request("POST", "/collections", { id, engine, dimension: 3 });
      }
      seen.creates.push(created);
      expectOk(round, "create", created, 201);
      // Nothing from before the drop: this round's records and the previous round's.
      for (const old of [`g${round}-0`, `g${round}-${RECORDS - 1}`, `g${Math.max(0, round - 1)}-7`]) {
        const r = await node.request("GET", `/collections/${id}/records/${old}`);
        if (r.status !== 404) seen.wrong.push(`${round}: ${old} from before the drop answered ${r.status}`);
      }
    }
    // The last re-created collection works.
    const last = recordsOf(ROUNDS);
    expectOk(
      ROUNDS,
      "final put",
      await node.request("POST", `/collections/${id}/records`, { records: last }),
    );
    const back = await node.request("GET", `/collections/${id}/records/g${ROUNDS}-3`);
    if (JSON.stringify(back.json?.vector) !== JSON.stringify([ROUNDS, 3, 1]))
      seen.wrong.push(`final read: ${back.text}`);
  }, 240_000);

  afterAll(async () => {
    await node?.stop();
  });

  it(`drops and re-creates the id ${ROUNDS} times, never with a 500 or a record from before the drop`, () => {
    expect(seen.wrong).toEqual([]);
  });

  it("answers every drop 200 and every create (at last) 201", () => {
    expect(seen.drops.map((r) => r.status)).toEqual(Array(ROUNDS).fill(200));
    expect(seen.creates.map((r) => r.status)).toEqual(Array(ROUNDS).fill(201));
  });

  it('refuses a create during a drop with 409 exists, "being dropped"', () => {
    for (const r of seen.refusals) expect(r.json.error.message).toContain("being dropped");
  });
});
