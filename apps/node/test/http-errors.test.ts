import {
  ClosedError,
  FsError,
  InvalidCollectionIdError,
  RootOfflineError,
  RootsFullError,
  StoreUnavailableError,
} from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { NodeError, type NodeErrorKind, durabilityUnknown } from "../src/errors.js";
import { HTTP_ERRORS, httpErrorOf } from "../src/http-errors.js";

describe("the HTTP error catalogue", () => {
  it.each([
    ["InvalidArgument", 400, "invalid"],
    ["NotFound", 404, "not-found"],
    ["AlreadyExists", 409, "exists"],
    ["Unavailable", 503, "unavailable"],
  ] as [NodeErrorKind, number, string][])(
    "NodeError %s answers %i (%s) with its message",
    (kind, status, body) => {
      const { entry, message, logged } = httpErrorOf(new NodeError(kind, "why"));
      expect(entry).toEqual({ status, kind: body });
      expect(message).toBe("why");
      expect(logged).toBe(false);
    },
  );

  it("answers a bad collection id from an engine with 400", () => {
    expect(httpErrorOf(new InvalidCollectionIdError("../x", "bad")).entry).toBe(HTTP_ERRORS.InvalidArgument);
  });

  it.each([
    ["an offline root", new RootOfflineError("c", "wal", "file:///w")],
    ["an unreachable store", new StoreUnavailableError("etcd down")],
    ["a closed engine (shutdown)", new ClosedError("wal")],
    ["a transient storage failure", new FsError("Transient", "reset")],
  ])("answers %s with 503 and logs it", (_name, err) => {
    const { entry, logged } = httpErrorOf(err);
    expect(entry).toBe(HTTP_ERRORS.Unavailable);
    expect(logged).toBe(true);
  });

  it("says retryable for every 503, and only for them", () => {
    expect(httpErrorOf(new NodeError("Unavailable", "x")).retryable).toBe(true);
    expect(httpErrorOf(new FsError("Transient", "reset")).retryable).toBe(true);
    expect(httpErrorOf(new ClosedError("wal")).retryable).toBe(true);
    expect(httpErrorOf(new NodeError("AlreadyExists", "x")).retryable).toBe(false);
    expect(httpErrorOf(new FsError("PermissionDenied", "denied")).retryable).toBe(false);
  });

  it("reports an append that failed retryably as a write of unknown durability: 503, retryable", () => {
    const err = durabilityUnknown("docs", new FsError("Transient", "S3 write failed: ECONNRESET"));
    expect(err).toBeInstanceOf(NodeError);
    expect(httpErrorOf(err)).toMatchObject({ entry: HTTP_ERRORS.Unavailable, retryable: true });
    expect((err as Error).message).toContain("may or may not be durable");
    const definite = new FsError("PermissionDenied", "denied");
    expect(durabilityUnknown("docs", definite)).toBe(definite);
  });

  it("answers a storage failure with 500, its secret-free message, and logs it", () => {
    expect(httpErrorOf(new FsError("PermissionDenied", "denied on key a/b"))).toEqual({
      entry: HTTP_ERRORS.Internal,
      message: "denied on key a/b",
      logged: true,
      retryable: false,
    });
  });

  it("answers an unknown error with 500 and never its message", () => {
    expect(httpErrorOf(new Error("password=hunter2"))).toEqual({
      entry: HTTP_ERRORS.Internal,
      message: "internal error",
      logged: true,
      retryable: false,
    });
  });

  it("keeps Fastify's own refusals: 413 as too-large, other 4xx as invalid", () => {
    expect(httpErrorOf(Object.assign(new Error("too big"), { statusCode: 413 })).entry).toBe(
      HTTP_ERRORS.TooLarge,
    );
    expect(httpErrorOf(Object.assign(new Error("bad type"), { statusCode: 415 })).entry).toEqual({
      status: 415,
      kind: "invalid",
    });
  });
});

describe("507 insufficient-storage", () => {
  const noSpace = new FsError("NoSpace", 'append "c/wal/1" in file:///mnt/d1/wal failed: ENOSPC', {
    root: "file:///mnt/d1/wal",
    key: "c/wal/1",
    status: "ENOSPC",
  });

  it("answers a write that ran out of space with 507 naming the root", () => {
    const { entry, message, retryable } = httpErrorOf(noSpace);
    expect(entry).toEqual({ status: 507, kind: "insufficient-storage" });
    expect(message).toContain("storage root file:///mnt/d1/wal is out of space");
    expect(retryable).toBe(false);
  });

  it("looks through a wrapping error to its no-space cause", () => {
    const wrapped = new Error("engine write failed", { cause: noSpace });
    expect(httpErrorOf(wrapped).entry.status).toBe(507);
  });

  it("answers every root full with 507 naming the roots", () => {
    const { entry, message } = httpErrorOf(new RootsFullError("lsm", ["file:///a/lsm", "file:///b/lsm"]));
    expect(entry.status).toBe(507);
    expect(message).toContain("file:///a/lsm, file:///b/lsm");
  });
});
