import { AssignmentService } from "@proximadb/core";
import type { AssessedRoot, DeploymentAssessment } from "@proximadb/discovery";
import { describe, expect, it } from "vitest";
import { RootHealth } from "../src/deployment.js";

const A = "file:///mnt/a/wal";
const B = "file:///mnt/b/wal";

/** An assessment with these statuses (only what RootHealth reads). */
function assessment(statuses: Record<string, AssessedRoot["status"]>): DeploymentAssessment {
  const roots = Object.entries(statuses).map(
    ([url, status], index): AssessedRoot => ({
      component: "wal",
      url,
      index,
      status,
      detail: status === "online" ? "its marker fits" : `it is ${status}`,
    }),
  );
  return { deployment: "d-1", roots } as unknown as DeploymentAssessment;
}

function health(statuses: Record<string, AssessedRoot["status"]>) {
  const service = new AssignmentService({ components: { wal: { roots: [A, B] } } });
  const state = (url: string) => service.stats()[0]?.roots.find((r) => r.url === url)?.state;
  return { h: new RootHealth(assessment(statuses), { service }), state };
}

describe("RootHealth: which roots may be written", () => {
  it("writes only the roots online at open; refuses the others with their status and detail", () => {
    const { h } = health({ [A]: "online", [B]: "empty" });
    expect(h.refusal(A)).toBeUndefined();
    expect(h.refusal(B)).toBe("empty: it is empty");
    expect(h.offline().map((c) => c.url)).toEqual([B]);
  });

  it("refuses a URL the configuration does not name", () => {
    expect(health({ [A]: "online" }).h.refusal("file:///elsewhere")).toMatch(/^unconfigured/);
  });

  it("stops writing a root that goes offline while serving, and tells the assignment service", () => {
    const { h, state } = health({ [A]: "online", [B]: "online" });
    h.update(assessment({ [A]: "missing", [B]: "online" }));
    expect(h.refusal(A)).toBe("missing: it is missing");
    expect(state(A)).toBe("offline");
  });

  it("writes again a root online at open once it is back", () => {
    const { h, state } = health({ [A]: "online", [B]: "online" });
    h.update(assessment({ [A]: "empty", [B]: "online" }));
    h.update(assessment({ [A]: "online", [B]: "online" }));
    expect(h.refusal(A)).toBeUndefined();
    expect(state(A)).toBe("active");
  });

  it("a cordoned root that goes offline and comes back is still cordoned (a drain's cordon survives an outage)", () => {
    const service = new AssignmentService({
      components: { wal: { roots: [A, { url: B, state: "cordoned" }] } },
    });
    const state = (url: string) => service.stats()[0]?.roots.find((r) => r.url === url)?.state;
    const h = new RootHealth(assessment({ [A]: "online", [B]: "online" }), { service });
    h.update(assessment({ [A]: "online", [B]: "missing" }));
    expect(state(B)).toBe("offline");
    h.update(assessment({ [A]: "online", [B]: "online" }));
    expect(h.refusal(B)).toBeUndefined();
    expect(state(B)).toBe("cordoned");
    expect(state(A)).toBe("active");
  });

  it("keeps refusing a root that was offline at open and comes back: its collections need a restart", () => {
    const { h } = health({ [A]: "online", [B]: "missing" });
    h.update(assessment({ [A]: "online", [B]: "online" }));
    expect(h.refusal(B)).toMatch(/restart the node/);
    expect(h.condition(B)).toMatchObject({ status: "online", writable: false });
  });

  it("keeps what it knew when a probe fails", async () => {
    const service = new AssignmentService({ components: { wal: { roots: [A, B] } } });
    const h = new RootHealth(assessment({ [A]: "online", [B]: "online" }), {
      service,
      probe: () => Promise.reject(new Error("network down")),
    });
    await h.probeOnce();
    expect(h.offline()).toEqual([]);
  });
});
