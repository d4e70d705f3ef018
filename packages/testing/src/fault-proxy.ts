import { Agent, type IncomingMessage, type ServerResponse, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { seededRandom } from "./random.js";

/** Fault probabilities and delay of a {@link FaultProxy}. */
export interface FaultSettings {
  /** Probability (0..1) that a request is answered 503 (throttling) instead of forwarded. */
  readonly errorRate: number;
  /** Probability (0..1) that a request's connection is reset instead of forwarded. */
  readonly resetRate: number;
  /**
   * Probability (0..1) that a request is forwarded and carried out upstream, but its answer is lost: the
   * client's connection is reset once the upstream answered (a write whose outcome the client cannot know).
   */
  readonly lostReplyRate: number;
  /** Delay added before each forwarded request, in milliseconds. */
  readonly latencyMs: number;
  /**
   * `Retry-After` (seconds) on the proxy's 503s; `null` sends none. Default 0: retry at once, the SDK's
   * own backoff decides. A positive value tests that a client honours the server's hint.
   */
  readonly retryAfterSeconds?: number | null | undefined;
  /** HTTP methods the faults apply to (e.g. `["PUT"]`); other requests are forwarded. Default: every method. */
  readonly methods?: readonly string[] | undefined;
}

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions extends Partial<FaultSettings> {
  /** Upstream base URL, `http://127.0.0.1:<port>`. */
  readonly target: string;
  /** Seed of the fault dice, so a failing run can be replayed (default 1). */
  readonly seed?: number;
}

/** Request counters of a {@link FaultProxy}. */
export interface FaultProxyStats {
  /** Requests received (forwarded or not). */
  requests: number;
  /** Requests answered 503 by the proxy. */
  injectedErrors: number;
  /** Connections reset by the proxy. */
  resets: number;
  /** Requests carried out upstream whose answer the proxy dropped. */
  lostReplies: number;
  /** Requests received per HTTP method. */
  byMethod: Record<string, number>;
  /** LIST requests received: S3 `ListObjects(V2)`, Azure `comp=list`, GCS `objects.list`. */
  lists: number;
}

/** A running fault-injecting HTTP proxy on 127.0.0.1. */
export interface FaultProxy {
  /** Base URL to point a client at, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Live counters (mutated in place). */
  readonly stats: FaultProxyStats;
  /** Changes fault settings for the following requests. */
  setFaults(settings: Partial<FaultSettings>): void;
  /** Zeroes every counter. */
  resetStats(): void;
  /** Stops the proxy and drops its connections. */
  close(): Promise<void>;
}

/** Kept here too: tests imported it from `@proximadb/testing/fault-proxy` before `./random` existed. */
export { seededRandom };

/** True for the LIST calls of the three object-store APIs. */
export function isListRequest(method: string | undefined, url: string | undefined): boolean {
  if (method !== "GET" || !url) return false;
  const [path = "", query = ""] = url.split("?", 2);
  const params = new URLSearchParams(query);
  if (params.get("comp") === "list") return true; // Azure Blob
  if (/^\/storage\/v1\/b\/[^/]+\/o\/?$/.test(path)) return true; // GCS JSON API objects.list
  // S3 path style: GET /<bucket> (no key) with list parameters or none at all.
  return (
    /^\/[^/]+\/?$/.test(path) &&
    !params.has("location") &&
    !params.has("uploads") &&
    !params.has("versioning")
  );
}

// An S3-style throttling body; Azure reads x-ms-error-code; every SDK retries a 503.
const THROTTLE_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

/** Counters of a proxy that has seen nothing yet. */
function zeroStats(): FaultProxyStats {
  return { requests: 0, injectedErrors: 0, resets: 0, lostReplies: 0, byMethod: {}, lists: 0 };
}

/**
 * Starts an HTTP proxy on 127.0.0.1 in front of `target` (an emulator). Each request is, by seeded dice,
 * answered 503 `SlowDown`, reset, forwarded with its answer lost, or forwarded with bodies streamed both ways. Counts requests per
 * method and LIST requests, which benchmarks report as request counts.
 *
 * @example
 * const proxy = await createFaultProxy({ target: s3.endpoint, errorRate: 0.1 });
 * const client = new S3Client({ endpoint: proxy.url, forcePathStyle: true });
 * // ... proxy.stats.lists, proxy.stats.injectedErrors
 * await proxy.close();
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== "http:")
    throw new TypeError(`fault proxy target must be http://… (got ${target.protocol})`);
  const faults: FaultSettings = {
    errorRate: options.errorRate ?? 0,
    resetRate: options.resetRate ?? 0,
    lostReplyRate: options.lostReplyRate ?? 0,
    latencyMs: options.latencyMs ?? 0,
    retryAfterSeconds: options.retryAfterSeconds === undefined ? 0 : options.retryAfterSeconds,
    methods: options.methods,
  };
  const dice = seededRandom(options.seed ?? 1);
  const stats: FaultProxyStats = zeroStats();
  const agent = new Agent({ keepAlive: true });

  const forward = (req: IncomingMessage, res: ServerResponse, loseReply = false) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers, // unchanged, Host included: signatures were computed over it
        agent,
      },
      (up) => {
        if (loseReply) {
          // The upstream did the work; the client never hears of it.
          up.resume();
          up.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
        up.pipe(res);
        up.on("error", () => res.destroy());
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent)
        res.writeHead(502, { "content-type": "text/plain" }).end("fault proxy: upstream error");
      else res.destroy();
    });
    req.pipe(upstream);
    req.on("error", () => upstream.destroy());
  };

  const server = createServer((req, res) => {
    stats.requests++;
    const method = req.method ?? "UNKNOWN";
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    if (isListRequest(req.method, req.url)) stats.lists++;
    const roll = faults.methods === undefined || faults.methods.includes(method) ? dice() : 1;
    if (roll < faults.resetRate) {
      stats.resets++;
      req.socket.destroy();
      return;
    }
    if (roll < faults.resetRate + faults.errorRate) {
      stats.injectedErrors++;
      // Drain the request body first so the client sees the answer, not a broken pipe.
      req.resume();
      req.on("end", () => {
        const retryAfter = faults.retryAfterSeconds;
        res.writeHead(503, {
          "content-type": "application/xml",
          "x-ms-error-code": "ServerBusy",
          ...(retryAfter === null || retryAfter === undefined ? {} : { "retry-after": String(retryAfter) }),
          connection: "close",
        });
        res.end(THROTTLE_BODY);
      });
      return;
    }
    const loseReply = roll < faults.resetRate + faults.errorRate + faults.lostReplyRate;
    if (loseReply) stats.lostReplies++;
    if (faults.latencyMs > 0) setTimeout(() => forward(req, res, loseReply), faults.latencyMs);
    else forward(req, res, loseReply);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    setFaults(p) {
      Object.assign(
        faults,
        Object.fromEntries(
          Object.entries(p).filter(
            ([k, v]) => v !== undefined || k === "methods" || k === "retryAfterSeconds",
          ),
        ),
      );
    },
    resetStats() {
      Object.assign(stats, zeroStats());
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
