import { type ComponentType, InvalidArgumentError } from "@proximadb/core";
import { describe, expect, it } from "vitest";
import {
  assessDeployment,
  assertServable,
  type DeploymentRootEntry,
  type ObservedRoot,
  type RootMarkerV1,
  type RootMarkerV2,
} from "../../src/index.js";

const T = "2024-01-01T00:00:00.000Z";
const D = "dddddddd-0000-4000-8000-000000000001";
const OTHER = "dddddddd-0000-4000-8000-000000000002";

const entry = (
  uuid: string,
  url: string,
  component: ComponentType = "wal",
  state: DeploymentRootEntry["state"] = "active",
): DeploymentRootEntry => ({ uuid, url, component, state, addedAt: T });

function v2(
  root: string,
  url: string,
  roots: DeploymentRootEntry[],
  o: { version?: number; deployment?: string; component?: ComponentType } = {},
): RootMarkerV2 {
  return {
    format: 2,
    deployment: o.deployment ?? D,
    root,
    component: o.component ?? "wal",
    url,
    version: o.version ?? 2,
    createdAt: T,
    updatedAt: T,
    roots,
  };
}

const marked = (
  url: string,
  marker: RootMarkerV2 | RootMarkerV1,
  component: ComponentType = "wal",
): ObservedRoot => ({
  component,
  url,
  probe: "exists",
  marker,
});
const bare = (url: string, probe: ObservedRoot["probe"], component: ComponentType = "wal"): ObservedRoot => ({
  component,
  url,
  probe,
});

/** Three WAL roots a, b, c of deployment D, version 2. */
const ABC = [entry("A", "mem://a"), entry("B", "mem://b"), entry("C", "mem://c")];
const healthy = (roots = ABC, version = 2) =>
  roots.map((e) => marked(e.url, v2(e.uuid as string, e.url, roots, { version })));

describe("assessDeployment", () => {
  it("finds every root of a healthy deployment online, with nothing to do", () => {
    const a = assessDeployment({ roots: healthy() });
    expect(a).toMatchObject({ deployment: D, format: 2, version: 2, unconfigured: [], problems: [] });
    expect(a.roots.map((r) => [r.status, r.uuid])).toEqual([
      ["online", "A"],
      ["online", "B"],
      ["online", "C"],
    ]);
    expect(a.next).toEqual({ init: false, complete: false, upgrade: false, join: [], rewrite: [] });
  });

  it("proposes init only when every configured root is empty or absent and nothing is marked", () => {
    expect(assessDeployment({ roots: [bare("mem://a", "absent"), bare("mem://b", "empty")] }).next.init).toBe(
      true,
    );
    for (const probe of ["data", "unreachable", "exists"] as const) {
      const a = assessDeployment({ roots: [bare("mem://a", "empty"), bare("mem://b", probe)] });
      expect(a.next.init).toBe(false);
      expect(a.problems[0]).toMatchObject({ kind: "NotInitializable", blocking: true, urls: ["mem://b"] });
    }
  });

  it("never proposes init when the expected deployment is carried by no root (every disk unmounted?)", () => {
    const a = assessDeployment({ roots: [bare("mem://a", "empty")], expectedDeployment: D });
    expect(a.next.init).toBe(false);
    expect(a.problems[0]).toMatchObject({ kind: "DeploymentNotFound", blocking: true });
    expect(() => assertServable(a)).toThrow(expect.objectContaining({ kind: "Ambiguous" }));
  });

  it("tells missing (absent) from empty (an unmounted mount point) for known roots without a marker", () => {
    const [a, b] = healthy();
    const r = assessDeployment({ roots: [a!, b!, bare("mem://c", "absent")] });
    expect(r.roots[2]).toMatchObject({ status: "missing", uuid: "C" });
    const e = assessDeployment({ roots: [a!, b!, bare("mem://c", "empty")] });
    expect(e.roots[2]).toMatchObject({ status: "empty", uuid: "C" });
    const d = assessDeployment({ roots: [a!, b!, bare("mem://c", "data")] });
    expect(d.roots[2]).toMatchObject({ status: "foreign", reason: "UnmarkedData" });
    const u = assessDeployment({
      roots: [a!, b!, { ...bare("mem://c", "unreachable"), error: "Transient: reset" }],
    });
    expect(u.roots[2]).toMatchObject({ status: "unreachable", uuid: "C", detail: "Transient: reset" });
    for (const x of [r, e, d, u]) expect(x.next.init).toBe(false);
  });

  it("reports a known active root the config does not name as unconfigured, and serve refuses (#1)", () => {
    const [a, b] = healthy();
    const r = assessDeployment({ roots: [a!, b!] });
    expect(r.unconfigured).toEqual([{ url: "mem://c", component: "wal", uuid: "C", status: "unconfigured" }]);
    expect(r.problems[0]).toMatchObject({ kind: "Unconfigured", blocking: true, urls: ["mem://c"] });
    expect(() => assertServable(r)).toThrow(expect.objectContaining({ kind: "Unconfigured" }));
  });

  it("ignores retired roots, and a retired root that comes back is foreign", () => {
    const roots = [ABC[0]!, ABC[1]!, { ...ABC[2]!, state: "retired" as const, retiredAt: T }];
    const [a, b] = healthy(roots, 3);
    expect(assessDeployment({ roots: [a!, b!] })).toMatchObject({ unconfigured: [], problems: [] });
    const back = marked("mem://c", v2("C", "mem://c", ABC, { version: 2 }));
    expect(assessDeployment({ roots: [a!, b!, back] }).roots[2]).toMatchObject({
      status: "foreign",
      reason: "Retired",
    });
    // An empty root at a retired root's URL is simply new.
    expect(assessDeployment({ roots: [a!, b!, bare("mem://c", "empty")] }).roots[2]?.status).toBe("new");
  });

  it("takes the roots list from the highest version seen and marks older markers for rewrite", () => {
    const withD = [...ABC, entry("N", "mem://n")];
    const [a] = healthy(withD, 5);
    const [, b, c] = healthy(ABC, 3);
    const r = assessDeployment({ roots: [a!, b!, c!, bare("mem://n", "absent")] });
    expect(r.version).toBe(5);
    expect(r.roots[3]).toMatchObject({ status: "missing", uuid: "N" });
    expect(r.next.rewrite).toEqual(["mem://b", "mem://c"]);
    expect(r.roots[1]?.stale).toBe(true);
  });

  it("lets new empty roots join only while every known root is online", () => {
    const ok = assessDeployment({ roots: [...healthy(), bare("mem://n", "absent")] });
    expect(ok.roots[3]?.status).toBe("new");
    expect(ok.next.join).toEqual(["mem://n"]);
    const [a, b] = healthy();
    const blocked = assessDeployment({ roots: [a!, b!, bare("mem://c", "empty"), bare("mem://n", "empty")] });
    expect(blocked.next.join).toEqual([]);
    expect(blocked.problems).toEqual([
      expect.objectContaining({ kind: "JoinBlocked", blocking: false, urls: ["mem://n"] }),
    ]);
  });

  it("chooses the deployment most roots carry, or the expected one; the others are foreign (#5)", () => {
    const ours = healthy();
    const stranger = marked("mem://x", v2("X", "mem://x", [entry("X", "mem://x")], { deployment: OTHER }));
    const r = assessDeployment({ roots: [...ours, stranger] });
    expect(r.deployment).toBe(D);
    expect(r.roots[3]).toMatchObject({ status: "foreign", reason: "Deployment" });
    const e = assessDeployment({ roots: [ours[0]!, stranger], expectedDeployment: OTHER });
    expect(e.deployment).toBe(OTHER);
    expect(e.roots[0]).toMatchObject({ status: "foreign", reason: "Deployment" });
    const tie = assessDeployment({ roots: [ours[0]!, stranger] });
    expect(tie.deployment).toBeUndefined();
    expect(tie.problems[0]).toMatchObject({ kind: "Ambiguous", blocking: true });
  });

  it("recognises a mount swap: both roots online, moved, and their markers due for a rewrite", () => {
    const [a, b, c] = healthy();
    const swapped = [{ ...b!, url: "mem://a" }, { ...a!, url: "mem://b" }, c!];
    const r = assessDeployment({ roots: swapped });
    expect(r.roots.map((x) => [x.status, x.uuid, x.moved?.from])).toEqual([
      ["online", "B", "mem://b"],
      ["online", "A", "mem://a"],
      ["online", "C", undefined],
    ]);
    expect(r.next.rewrite).toEqual(["mem://a", "mem://b"]);
    expect(r.unconfigured).toEqual([]);
    expect(r.warnings).toHaveLength(2);
  });

  it("refuses a second root carrying the same identity (a copied disk), a wrong component and an unlisted UUID", () => {
    const [a, b, c] = healthy();
    const copy = { ...a!, url: "mem://copy" };
    const r = assessDeployment({ roots: [copy, a!, b!, c!] });
    expect(r.roots.map((x) => x.status)).toEqual(["foreign", "online", "online", "online"]);
    expect(r.roots[0]?.reason).toBe("Uuid");
    const lsm = assessDeployment({ roots: [{ ...a!, component: "lsm" }, b!, c!] });
    expect(lsm.roots[0]).toMatchObject({ status: "foreign", reason: "Component" });
    const unlisted = marked("mem://z", v2("Z", "mem://z", ABC));
    expect(assessDeployment({ roots: [...healthy(), unlisted] }).roots[3]).toMatchObject({
      status: "foreign",
      reason: "Unlisted",
    });
    const junk: ObservedRoot = { component: "wal", url: "mem://j", probe: "exists", markerInvalid: true };
    expect(assessDeployment({ roots: [...healthy(), junk] }).roots[3]).toMatchObject({ reason: "Invalid" });
  });

  it("resumes an interrupted initialisation: initializing roots with or without their marker are new", () => {
    const init = ABC.map((e) => ({ ...e, state: "initializing" as const }));
    const [a] = healthy(init, 1);
    const r = assessDeployment({ roots: [a!, bare("mem://b", "empty"), bare("mem://c", "absent")] });
    expect(r.roots.map((x) => [x.status, x.uuid])).toEqual([
      ["new", "A"],
      ["new", "B"],
      ["new", "C"],
    ]);
    expect(r.next).toMatchObject({ init: false, complete: true, join: [] });
    // A root to initialise that holds files is not initialised; completion waits.
    const stuck = assessDeployment({ roots: [a!, bare("mem://b", "data"), bare("mem://c", "absent")] });
    expect(stuck.next.complete).toBe(false);
    expect(stuck.problems[0]).toMatchObject({ kind: "CompleteBlocked", blocking: false });
    // An initializing root dropped from the config is abandoned, not unconfigured.
    const dropped = assessDeployment({ roots: [a!, bare("mem://b", "empty")] });
    expect(dropped.abandoned.map((e) => e.uuid)).toEqual(["C"]);
    expect(dropped.unconfigured).toEqual([]);
  });

  it("reads format-1 markers: siblings they list are known, and the upgrade waits for unreachable roots", () => {
    const v1 = (uuid: string, url: string, siblings?: string[]): RootMarkerV1 => ({
      format: 1,
      uuid,
      component: "wal",
      url,
      createdAt: T,
      ...(siblings ? { siblings } : {}),
    });
    const roots = [
      marked("mem://a", v1("A", "mem://a")),
      marked("mem://b", v1("B", "mem://b", ["mem://a", "mem://c"])),
      bare("mem://c", "empty"),
      bare("mem://n", "absent"),
    ];
    const r = assessDeployment({ roots });
    expect(r.format).toBe(1);
    expect(r.roots.map((x) => x.status)).toEqual(["online", "online", "empty", "new"]);
    expect(r.next.upgrade).toBe(true);
    expect(r.entries.map((e) => [e.uuid, e.url])).toEqual([
      ["A", "mem://a"],
      ["B", "mem://b"],
      [undefined, "mem://c"],
    ]);
    const waiting = assessDeployment({ roots: [...roots.slice(0, 3), bare("mem://n", "unreachable")] });
    expect(waiting.next.upgrade).toBe(false);
    expect(waiting.problems[0]).toMatchObject({ kind: "UpgradeBlocked", blocking: false });
    // Dropped from the config, a format-1 sibling is unconfigured too.
    expect(assessDeployment({ roots: roots.slice(0, 2) }).unconfigured.map((u) => u.url)).toEqual([
      "mem://c",
    ]);
  });

  it("rejects a root configured twice and unknown components or probe states", () => {
    expect(() =>
      assessDeployment({ roots: [bare("mem://a", "empty"), bare("mem://a", "empty", "lsm")] }),
    ).toThrow(InvalidArgumentError);
    expect(() => assessDeployment({ roots: [bare("mem://a", "empty", "nope" as ComponentType)] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => assessDeployment({ roots: [bare("mem://a", "weird" as "empty")] })).toThrow(
      InvalidArgumentError,
    );
  });

  it("is pure: the same input gives the same output and the input is not changed", () => {
    const input = { roots: [...healthy(), bare("mem://n", "empty")] };
    const copy = structuredClone(input);
    expect(assessDeployment(input)).toEqual(assessDeployment(input));
    expect(input).toEqual(copy);
  });
});
