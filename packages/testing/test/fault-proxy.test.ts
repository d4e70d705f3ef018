import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createFaultProxy, isListRequest } from "@proximadb/testing/fault-proxy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A tiny upstream: echoes method, path and the byte count of the body; GET /big streams 8 MiB.
let upstream: Server;
let target: string;
/** Requests the upstream answered. */
let upstreamRequests = 0;
const BIG = 8 * 1024 * 1024;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === "/big") {
      res.writeHead(200, { "content-length": String(BIG) });
      const chunk = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (sent < BIG) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
      return;
    }
    let bytes = 0;
    req.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    req.on("end", () => {
      upstreamRequests++;
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
      res.end(JSON.stringify({ method: req.method, url: req.url, bytes, host: req.headers.host }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

/** One request through node:http; resolves with status, headers and body, or rejects on a reset. */
function send(url: string, method = "GET", body?: Buffer) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
    (resolve, reject) => {
      const req = request(url, { method, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    },
  );
}

describe("fault proxy", () => {
  it("forwards requests with their method, path, Host header and body, and counts them", async () => {
    const proxy = await createFaultProxy({ target });
    try {
      const r = await send(`${proxy.url}/bucket/key?x=1`, "PUT", Buffer.alloc(300_000, 1));
      expect(r.status).toBe(200);
      expect(r.headers["x-upstream"]).toBe("yes");
      expect(JSON.parse(r.body.toString())).toEqual({
        method: "PUT",
        url: "/bucket/key?x=1",
        bytes: 300_000,
        host: `127.0.0.1:${proxy.port}`,
      });
      await send(`${proxy.url}/bucket?list-type=2&prefix=a%2F`);
      expect(proxy.stats).toMatchObject({
        requests: 2,
        injectedErrors: 0,
        resets: 0,
        lists: 1,
        byMethod: { PUT: 1, GET: 1 },
      });
      proxy.resetStats();
      expect(proxy.stats).toEqual({
        requests: 0,
        injectedErrors: 0,
        resets: 0,
        lostReplies: 0,
        lists: 0,
        byMethod: {},
      });
    } finally {
      await proxy.close();
    }
  });

  it("streams a large response body through", async () => {
    const proxy = await createFaultProxy({ target });
    try {
      const r = await send(`${proxy.url}/big`);
      expect(r.body.length).toBe(BIG);
    } finally {
      await proxy.close();
    }
  });

  it("answers 503 SlowDown at errorRate 1 without reaching the upstream", async () => {
    const proxy = await createFaultProxy({ target, errorRate: 1 });
    try {
      const r = await send(`${proxy.url}/bucket/key`, "PUT", Buffer.alloc(1000));
      expect(r.status).toBe(503);
      expect(r.body.toString()).toContain("<Code>SlowDown</Code>");
      expect(r.headers["x-upstream"]).toBeUndefined();
      expect(proxy.stats.injectedErrors).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("sends Retry-After on its 503s: 0 by default, the configured seconds, none for null", async () => {
    const proxy = await createFaultProxy({ target, errorRate: 1 });
    try {
      expect((await send(`${proxy.url}/bucket/key`)).headers["retry-after"]).toBe("0");
      proxy.setFaults({ retryAfterSeconds: 3 });
      expect((await send(`${proxy.url}/bucket/key`)).headers["retry-after"]).toBe("3");
      proxy.setFaults({ retryAfterSeconds: null });
      expect((await send(`${proxy.url}/bucket/key`)).headers["retry-after"]).toBeUndefined();
    } finally {
      await proxy.close();
    }
    const hinted = await createFaultProxy({ target, errorRate: 1, retryAfterSeconds: 2 });
    try {
      expect((await send(`${hinted.url}/bucket/key`)).headers["retry-after"]).toBe("2");
    } finally {
      await hinted.close();
    }
  });

  it("resets the connection at resetRate 1, and forwards again after setFaults", async () => {
    const proxy = await createFaultProxy({ target, resetRate: 1 });
    try {
      await expect(send(`${proxy.url}/a`)).rejects.toMatchObject({
        code: expect.stringMatching(/ECONNRESET|EPIPE|socket hang up/),
      });
      expect(proxy.stats.resets).toBe(1);
      proxy.setFaults({ resetRate: 0 });
      expect((await send(`${proxy.url}/a`)).status).toBe(200);
    } finally {
      await proxy.close();
    }
  });

  it("carries a request out upstream but loses its answer at lostReplyRate 1", async () => {
    const proxy = await createFaultProxy({ target, lostReplyRate: 1 });
    const before = upstreamRequests;
    try {
      await expect(send(`${proxy.url}/bucket/key`, "PUT", Buffer.alloc(1000))).rejects.toMatchObject({
        code: expect.stringMatching(/ECONNRESET|EPIPE|socket hang up/),
      });
      expect(upstreamRequests).toBe(before + 1);
      expect(proxy.stats.lostReplies).toBe(1);
      proxy.setFaults({ methods: ["PUT"] });
      expect((await send(`${proxy.url}/bucket/key`)).status).toBe(200); // a GET is not a PUT
      expect(proxy.stats.lostReplies).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("injects faults at about the requested rate, reproducibly for a seed", async () => {
    const run = async () => {
      const proxy = await createFaultProxy({ target, errorRate: 0.3, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await send(`${proxy.url}/k${i}`)).status);
      await proxy.close();
      return statuses;
    };
    const a = await run();
    const errors = a.filter((s) => s === 503).length;
    expect(errors).toBeGreaterThan(30);
    expect(errors).toBeLessThan(90);
    expect(await run()).toEqual(a);
  });

  it("recognises LIST requests of S3, Azure Blob and GCS", () => {
    expect(isListRequest("GET", "/bucket?list-type=2&prefix=x")).toBe(true);
    expect(isListRequest("GET", "/container?restype=container&comp=list")).toBe(true);
    expect(isListRequest("GET", "/storage/v1/b/bkt/o?prefix=a")).toBe(true);
    expect(isListRequest("GET", "/bucket/key.bin")).toBe(false);
    expect(isListRequest("PUT", "/bucket?list-type=2")).toBe(false);
    expect(isListRequest("GET", "/storage/v1/b/bkt/o/obj%2Fname")).toBe(false);
  });
});
