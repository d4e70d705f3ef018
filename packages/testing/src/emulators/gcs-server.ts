/**
 * A small Google Cloud Storage JSON-API server for tests, driven by the real `@google-cloud/storage`
 * client through its `apiEndpoint` option. In-memory, one process, loopback only.
 *
 * It implements what the 7.x client sends: buckets get/insert; objects list (prefix, delimiter,
 * pageToken, maxResults, includeTrailingDelimiter, startOffset/endOffset), media / multipart /
 * resumable uploads (308 Resume Incomplete with `Range`), `alt=media` downloads with `Range`, object
 * get/patch/delete, `copyTo`, `rewriteTo` (always `done: true`) and the atomic `moveTo`; a new
 * generation on every write; `ifGenerationMatch` (0 = must not exist), `ifGenerationNotMatch`,
 * `ifMetagenerationMatch` and the `ifSource…` variants answering 412 with a JSON error body.
 *
 * @example
 * const gcs = await startGcsServer({ buckets: ["data"] });
 * const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: gcs.projectId });
 * await storage.bucket("data").file("a.txt").save("hi");
 * await gcs.stop();
 */
import { once } from "node:events";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseMultipartRelated } from "./gcs/multipart.js";
import {
  GcsBucket,
  GcsHttpError,
  type StoredObject,
  type UploadSession,
  checkPreconditions,
  listObjects,
  makeObject,
  newGeneration,
  newSession,
  preconditionsFrom,
} from "./gcs/store.js";

/** Options of {@link startGcsServer}. */
export interface GcsServerOptions {
  /** Buckets that exist from the start. */
  buckets?: string[];
  /** Project id reported to clients (default `proximadb-test`). */
  projectId?: string;
}

/** Request counters, by route name (`objects.list`, `objects.insert.multipart`, `objects.get.media`, …). */
export interface GcsRequestCounters {
  total: number;
  byRoute: Record<string, number>;
}

/** What a {@link GcsFaultRule} sees of a request before it is served. */
export interface GcsRequestInfo {
  /** Route name, as counted in {@link GcsRequestCounters.byRoute}. */
  readonly route: string;
  readonly method: string;
  /** Object name for object and upload routes, when known before the body is read. */
  readonly object: string | undefined;
  /** The `Content-Range` header of resumable PUTs (`bytes 0-262143/*`, `bytes *\/*`). */
  readonly contentRange: string | undefined;
}

/**
 * A fault the server injects instead of serving a request (its body is never applied):
 * `{ status }` drains the body and answers that HTTP status with a JSON error, `"reset"` destroys the
 * connection, `"stall"` never answers (until the client gives up or the server stops).
 */
export type GcsFault = { readonly status: number } | "reset" | "stall";

/** Decides, per request, whether to inject a fault. Return `undefined` to serve it normally. */
export type GcsFaultRule = (request: GcsRequestInfo) => GcsFault | undefined;

/** A running GCS test server. */
export interface GcsServer {
  /** `http://127.0.0.1:PORT`: pass as the client's `apiEndpoint`. */
  readonly endpoint: string;
  readonly port: number;
  readonly projectId: string;
  /** Creates a bucket (no-op when it exists). */
  createBucket(name: string): Promise<void>;
  /**
   * Stores objects directly, without HTTP requests (seeding large listings for tests and benchmarks).
   * Creates the bucket when missing. Not counted in {@link requests}.
   */
  putObjects(bucket: string, objects: Iterable<readonly [name: string, data: string | Uint8Array]>): void;
  /** Live counters of the requests served since start or the last {@link resetCounters}. */
  readonly requests: GcsRequestCounters;
  /** Sets every counter back to zero. */
  resetCounters(): void;
  /**
   * Installs (or, with `undefined`, removes) a deterministic fault rule, consulted for every request
   * once its route is known and before its body is read. Injected faults are counted in `requests`
   * like served ones (and under `faults.<route>`).
   */
  setFaultRule(rule: GcsFaultRule | undefined): void;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
}

const MAX_PAGE = 1000;

/** Starts the server on a free loopback port. */
export async function startGcsServer(options: GcsServerOptions = {}): Promise<GcsServer> {
  const projectId = options.projectId ?? "proximadb-test";
  const buckets = new Map<string, GcsBucket>();
  const sessions = new Map<string, UploadSession>();
  const requests: GcsRequestCounters = { total: 0, byRoute: {} };
  for (const b of options.buckets ?? []) buckets.set(b, new GcsBucket(b));

  let faultRule: GcsFaultRule | undefined;

  const bump = (route: string) => {
    requests.byRoute[route] = (requests.byRoute[route] ?? 0) + 1;
  };
  /** Counts the request under its route, then lets the fault rule intercept it. */
  const routeOf = (req: IncomingMessage, route: string, object?: string) => {
    bump(route);
    if (!faultRule) return;
    const fault = faultRule({
      route,
      method: req.method ?? "GET",
      object,
      contentRange: req.headers["content-range"] as string | undefined,
    });
    if (fault !== undefined) {
      bump(`faults.${route}`);
      throw new InjectedFault(fault);
    }
  };

  const server: Server = createServer((req, res) => {
    requests.total++;
    handle(req, res).catch((err: unknown) => {
      if (err instanceof InjectedFault) return injectFault(req, res, err.fault);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof GcsHttpError) sendError(res, err);
      else
        sendError(
          res,
          new GcsHttpError(500, "backendError", err instanceof Error ? err.message : String(err)),
        );
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const q = url.searchParams;
    // Split the raw path before decoding: object names arrive with "/" as %2F.
    const seg = url.pathname.split("/").filter((s) => s !== "");
    const method = req.method ?? "GET";
    const upload = seg[0] === "upload";
    const api = upload ? seg.slice(1) : seg;
    if (api[0] !== "storage" || api[1] !== "v1" || api[2] !== "b") {
      routeOf(req, "unknown");
      throw new GcsHttpError(404, "notFound", `Not Found: ${method} ${url.pathname}`);
    }
    const rest = api.slice(3).map(decodeURIComponent);

    if (upload) return handleUpload(req, res, rest, q);

    // /storage/v1/b
    if (rest.length === 0) {
      if (method === "POST") {
        routeOf(req, "buckets.insert");
        const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { name?: string };
        if (!body.name) throw new GcsHttpError(400, "required", "Required: name");
        if (buckets.has(body.name))
          throw new GcsHttpError(
            409,
            "conflict",
            "Your previous request to create the named bucket succeeded and you already own it.",
          );
        buckets.set(body.name, new GcsBucket(body.name));
        return sendJson(res, 200, bucketResource(buckets.get(body.name) as GcsBucket));
      }
      if (method === "GET") {
        routeOf(req, "buckets.list");
        return sendJson(res, 200, {
          kind: "storage#buckets",
          items: [...buckets.values()].map(bucketResource),
        });
      }
    }
    const bucketName = rest[0] as string;
    // /storage/v1/b/{bucket}
    if (rest.length === 1) {
      if (method === "GET") {
        routeOf(req, "buckets.get");
        return sendJson(res, 200, bucketResource(bucketOf(bucketName)));
      }
      if (method === "DELETE") {
        routeOf(req, "buckets.delete");
        const b = bucketOf(bucketName);
        if (b.objects.size > 0)
          throw new GcsHttpError(409, "conflict", "The bucket you tried to delete is not empty.");
        buckets.delete(bucketName);
        return sendEmpty(res, 204);
      }
    }
    // /storage/v1/b/{bucket}/o
    if (rest.length === 2 && rest[1] === "o" && method === "GET") {
      routeOf(req, "objects.list");
      const bucket = bucketOf(bucketName);
      const maxResults = Math.min(MAX_PAGE, Math.max(1, Number(q.get("maxResults") ?? MAX_PAGE) || MAX_PAGE));
      const page = listObjects(bucket, {
        prefix: q.get("prefix") ?? "",
        delimiter: q.get("delimiter") ?? "",
        maxResults,
        pageToken: q.get("pageToken") || undefined,
        includeTrailingDelimiter: q.get("includeTrailingDelimiter") === "true",
        startOffset: q.get("startOffset") || undefined,
        endOffset: q.get("endOffset") || undefined,
      });
      const body: Record<string, unknown> = { kind: "storage#objects" };
      if (page.prefixes.length > 0) body.prefixes = page.prefixes;
      if (page.items.length > 0) body.items = page.items.map((o) => objectResource(bucketName, o));
      if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
      return sendJson(res, 200, body);
    }
    if (rest.length >= 3 && rest[1] === "o") {
      const name = rest[2] as string;
      // /storage/v1/b/{bucket}/o/{object}
      if (rest.length === 3) return handleObject(req, res, bucketName, name, q);
      const action = rest[3];
      if (
        method === "POST" &&
        (action === "copyTo" || action === "rewriteTo") &&
        rest[4] === "b" &&
        rest[6] === "o" &&
        rest.length === 8
      ) {
        routeOf(req, `objects.${action === "copyTo" ? "copy" : "rewrite"}`, name);
        const body = await readJson(req);
        const src = objectOf(bucketName, name);
        checkPreconditions(src, preconditionsFrom(q, true));
        const destBucket = bucketOf(rest[5] as string);
        const destName = rest[7] as string;
        checkPreconditions(destBucket.objects.get(destName), preconditionsFrom(q));
        const copy = makeObject(
          destName,
          src.data,
          (body.contentType as string) ?? src.contentType,
          (body.metadata as Record<string, string>) ?? src.metadata,
        );
        destBucket.put(copy);
        const resource = objectResource(destBucket.name, copy);
        if (action === "copyTo") return sendJson(res, 200, resource);
        return sendJson(res, 200, {
          kind: "storage#rewriteResponse",
          totalBytesRewritten: String(src.data.length),
          objectSize: String(src.data.length),
          done: true,
          resource,
        });
      }
      if (method === "POST" && action === "moveTo" && rest[4] === "o" && rest.length === 6) {
        routeOf(req, "objects.move", name);
        await readBody(req);
        const bucket = bucketOf(bucketName);
        const src = objectOf(bucketName, name);
        checkPreconditions(src, preconditionsFrom(q, true));
        const destName = rest[5] as string;
        checkPreconditions(bucket.objects.get(destName), preconditionsFrom(q));
        // One synchronous step: no reader ever sees both names or neither.
        const moved: StoredObject = {
          ...src,
          name: destName,
          generation: newGeneration(),
          updated: new Date().toISOString(),
        };
        bucket.remove(name);
        bucket.put(moved);
        return sendJson(res, 200, objectResource(bucketName, moved));
      }
    }
    routeOf(req, "unknown");
    throw new GcsHttpError(404, "notFound", `Not Found: ${method} ${url.pathname}`);
  }

  async function handleObject(
    req: IncomingMessage,
    res: ServerResponse,
    bucketName: string,
    name: string,
    q: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? "GET";
    if (method === "GET") {
      const media = q.get("alt") === "media";
      routeOf(req, media ? "objects.get.media" : "objects.get", name);
      const obj = objectOf(bucketName, name);
      const generation = q.get("generation");
      if (generation && Number(generation) !== obj.generation)
        throw new GcsHttpError(404, "notFound", `No such object: ${bucketName}/${name}`);
      checkPreconditions(obj, preconditionsFrom(q));
      if (!media) return sendJson(res, 200, objectResource(bucketName, obj));
      return sendMedia(req, res, obj);
    }
    if (method === "DELETE") {
      routeOf(req, "objects.delete", name);
      const obj = objectOf(bucketName, name);
      checkPreconditions(obj, preconditionsFrom(q));
      bucketOf(bucketName).remove(name);
      return sendEmpty(res, 204);
    }
    if (method === "PATCH" || method === "PUT") {
      routeOf(req, "objects.patch", name);
      const body = await readJson(req);
      const obj = objectOf(bucketName, name);
      checkPreconditions(obj, preconditionsFrom(q));
      if (typeof body.contentType === "string") obj.contentType = body.contentType;
      if (body.metadata !== undefined)
        obj.metadata = { ...(obj.metadata ?? {}), ...(body.metadata as Record<string, string>) };
      obj.metageneration++;
      obj.updated = new Date().toISOString();
      return sendJson(res, 200, objectResource(bucketName, obj));
    }
    routeOf(req, "unknown");
    throw new GcsHttpError(405, "methodNotAllowed", `Method ${method} not allowed on objects`);
  }

  async function handleUpload(
    req: IncomingMessage,
    res: ServerResponse,
    rest: string[],
    q: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? "POST";
    const bucketName = rest[0] as string;
    if (rest.length !== 2 || rest[1] !== "o") throw new GcsHttpError(404, "notFound", "Not Found");
    const uploadType = q.get("uploadType") ?? "media";
    if (method === "POST" && uploadType === "media") {
      routeOf(req, "objects.insert.media", q.get("name") ?? undefined);
      const body = await readBody(req);
      const name = q.get("name");
      if (!name) throw new GcsHttpError(400, "required", "Required: name");
      return commit(
        res,
        bucketName,
        name,
        body,
        req.headers["content-type"],
        undefined,
        preconditionsFrom(q),
      );
    }
    if (method === "POST" && uploadType === "multipart") {
      routeOf(req, "objects.insert.multipart", q.get("name") ?? undefined);
      const body = await readBody(req);
      const part = parseMultipartRelated(req.headers["content-type"], body);
      const name = q.get("name") ?? (part.metadata.name as string | undefined);
      if (!name) throw new GcsHttpError(400, "required", "Required: name");
      const contentType = (part.metadata.contentType as string | undefined) ?? part.contentType;
      return commit(
        res,
        bucketName,
        name,
        part.media,
        contentType,
        part.metadata.metadata as Record<string, string> | undefined,
        preconditionsFrom(q),
      );
    }
    if (method === "POST" && uploadType === "resumable") {
      routeOf(req, "objects.insert.resumable.start", q.get("name") ?? undefined);
      const meta = await readJson(req);
      const name = q.get("name") ?? (meta.name as string | undefined);
      if (!name) throw new GcsHttpError(400, "required", "Required: name");
      const bucket = bucketOf(bucketName);
      const pre = preconditionsFrom(q);
      checkPreconditions(bucket.objects.get(name), pre);
      const contentType =
        (req.headers["x-upload-content-type"] as string | undefined) ??
        (meta.contentType as string | undefined);
      const session = newSession(
        bucketName,
        name,
        contentType,
        meta.metadata as Record<string, string> | undefined,
        pre,
      );
      sessions.set(session.id, session);
      // Built from the Host header so a proxy in front of the server stays in the path.
      const location = `http://${req.headers.host}/upload/storage/v1/b/${encodeURIComponent(bucketName)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${session.id}`;
      res.setHeader("Location", location);
      return sendEmpty(res, 200);
    }
    if (method === "PUT" && uploadType === "resumable") {
      const range = String(req.headers["content-range"] ?? "");
      const status = /^bytes \*\/(\d+|\*)$/.exec(range);
      // A status query (`bytes */total`) is counted apart from the chunks that carry data.
      routeOf(
        req,
        status ? "objects.insert.resumable.status" : "objects.insert.resumable.chunk",
        q.get("name") ?? undefined,
      );
      const session = sessions.get(q.get("upload_id") ?? "");
      if (!session) throw new GcsHttpError(404, "notFound", "No such upload session");
      // Bytes of a chunk count only once its request body arrived whole (a reset drops the chunk).
      const body = await readBody(req);
      if (session.result) return sendJson(res, 200, objectResource(session.bucket, session.result));
      if (session.failure) throw session.failure;
      const chunk = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(range);
      let total: number | undefined;
      let final = false;
      if (status) {
        total = status[1] === "*" ? undefined : Number(status[1]);
        final = total !== undefined && total === session.received;
      } else if (chunk) {
        const start = Number(chunk[1]);
        if (start > session.received) {
          throw new GcsHttpError(
            400,
            "invalid",
            `Chunk starts at ${start} but only ${session.received} bytes were received`,
          );
        }
        const fresh = body.subarray(session.received - start);
        session.chunks.push(fresh);
        session.received += fresh.length;
        total = chunk[3] === "*" ? undefined : Number(chunk[3]);
        // "bytes N-*/…": the whole remainder came in this request.
        final = total !== undefined ? session.received >= total : chunk[2] === "*";
      } else {
        session.chunks.push(body);
        session.received += body.length;
        final = true;
      }
      if (!final) {
        if (session.received > 0) res.setHeader("Range", `bytes=0-${session.received - 1}`);
        res.setHeader("Content-Length", "0");
        res.writeHead(308);
        res.end();
        return;
      }
      const data = Buffer.concat(session.chunks);
      try {
        // A failed finalisation (a precondition) ends the session: every later request gets the same answer.
        const obj = commitObject(
          session.bucket,
          session.name,
          data,
          session.contentType,
          session.metadata,
          session.preconditions,
        );
        session.result = obj;
        return sendJson(res, 200, objectResource(session.bucket, obj));
      } catch (err) {
        if (err instanceof GcsHttpError) session.failure = err;
        throw err;
      } finally {
        session.chunks.length = 0;
      }
    }
    throw new GcsHttpError(400, "invalid", `Unsupported upload: ${method} uploadType=${uploadType}`);
  }

  function commitObject(
    bucketName: string,
    name: string,
    data: Buffer,
    contentType: string | undefined,
    metadata: Record<string, string> | undefined,
    pre: ReturnType<typeof preconditionsFrom>,
  ): StoredObject {
    const bucket = bucketOf(bucketName);
    checkPreconditions(bucket.objects.get(name), pre);
    const obj = makeObject(name, data, contentType, metadata);
    bucket.put(obj);
    return obj;
  }

  /** {@link commitObject}, then the object's resource as the answer. */
  function commit(res: ServerResponse, ...args: Parameters<typeof commitObject>): void {
    const obj = commitObject(...args);
    sendJson(res, 200, objectResource(args[0], obj));
  }

  function bucketOf(name: string): GcsBucket {
    const b = buckets.get(name);
    if (!b) throw new GcsHttpError(404, "notFound", "The specified bucket does not exist.");
    return b;
  }

  function objectOf(bucketName: string, name: string): StoredObject {
    const obj = bucketOf(bucketName).objects.get(name);
    if (!obj) throw new GcsHttpError(404, "notFound", `No such object: ${bucketName}/${name}`);
    return obj;
  }

  function bucketResource(b: GcsBucket) {
    return {
      kind: "storage#bucket",
      id: b.name,
      name: b.name,
      projectNumber: "0",
      metageneration: "1",
      location: "US",
      storageClass: "STANDARD",
      timeCreated: b.timeCreated,
      updated: b.timeCreated,
    };
  }

  function objectResource(bucketName: string, o: StoredObject) {
    const path = `/b/${encodeURIComponent(bucketName)}/o/${encodeURIComponent(o.name)}`;
    return {
      kind: "storage#object",
      id: `${bucketName}/${o.name}/${o.generation}`,
      selfLink: `${endpoint}/storage/v1${path}`,
      mediaLink: `${endpoint}/download/storage/v1${path}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: bucketName,
      generation: String(o.generation),
      metageneration: String(o.metageneration),
      contentType: o.contentType,
      storageClass: "STANDARD",
      size: String(o.data.length),
      md5Hash: o.md5Hash,
      crc32c: o.crc32c,
      etag: `${o.generation}/${o.metageneration}`,
      timeCreated: o.timeCreated,
      updated: o.updated,
      ...(o.metadata ? { metadata: o.metadata } : {}),
    };
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    port,
    projectId,
    requests,
    async createBucket(name: string) {
      if (!buckets.has(name)) buckets.set(name, new GcsBucket(name));
    },
    putObjects(bucket, objects) {
      let b = buckets.get(bucket);
      if (!b) {
        b = new GcsBucket(bucket);
        buckets.set(bucket, b);
      }
      for (const [name, data] of objects) b.put(makeObject(name, Buffer.from(data), undefined, undefined));
    },
    resetCounters() {
      requests.total = 0;
      for (const k of Object.keys(requests.byRoute)) delete requests.byRoute[k];
    },
    setFaultRule(rule) {
      faultRule = rule;
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Thrown by the router when the fault rule intercepts a request. */
class InjectedFault extends Error {
  constructor(readonly fault: GcsFault) {
    super("injected fault");
  }
}

function injectFault(req: IncomingMessage, res: ServerResponse, fault: GcsFault): void {
  if (fault === "stall") return; // never answered; stop() closes the connection
  if (fault === "reset") {
    req.socket.destroy();
    return;
  }
  // Drain the body first (and discard it) so the client reads the answer, not a broken pipe.
  req.resume();
  const answer = () =>
    sendError(res, new GcsHttpError(fault.status, "injectedFault", `injected HTTP ${fault.status}`), {
      Connection: "close",
    });
  if (req.complete) answer();
  else req.once("end", answer);
}

function sendMedia(req: IncomingMessage, res: ServerResponse, obj: StoredObject): void {
  const size = obj.data.length;
  res.setHeader("Content-Type", obj.contentType);
  res.setHeader("x-goog-generation", String(obj.generation));
  res.setHeader("x-goog-metageneration", String(obj.metageneration));
  res.setHeader("Accept-Ranges", "bytes");
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ""));
  if (!range || size === 0 || (range[1] === "" && range[2] === "")) {
    // Whole-object responses carry the hashes so the client validates what it downloaded.
    res.setHeader("x-goog-hash", `crc32c=${obj.crc32c},md5=${obj.md5Hash}`);
    res.setHeader("x-goog-stored-content-encoding", "identity");
    res.setHeader("Content-Length", String(size));
    res.writeHead(200);
    res.end(obj.data);
    return;
  }
  let start: number;
  let end: number;
  if (range[1] === "") {
    start = Math.max(0, size - Number(range[2]));
    end = size - 1;
  } else {
    start = Number(range[1]);
    end = range[2] === "" ? size - 1 : Math.min(size - 1, Number(range[2]));
  }
  if (start >= size || start > end) {
    sendError(
      res,
      new GcsHttpError(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied."),
      { "Content-Range": `bytes */${size}` },
    );
    return;
  }
  res.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
  res.setHeader("Content-Length", String(end - start + 1));
  res.writeHead(206);
  res.end(obj.data.subarray(start, end + 1));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  // A client that went away mid-body must not have its partial bytes stored.
  if (!req.complete) throw new GcsHttpError(400, "aborted", "request body incomplete");
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new GcsHttpError(400, "parseError", "Parse Error");
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { "Content-Length": "0" });
  res.end();
}

function sendError(res: ServerResponse, err: GcsHttpError, headers: Record<string, string> = {}): void {
  const body = {
    error: {
      code: err.status,
      message: err.message,
      errors: [{ domain: "global", reason: err.reason, message: err.message }],
    },
  };
  const text = JSON.stringify(body);
  res.writeHead(err.status, {
    "Content-Type": "application/json; charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
