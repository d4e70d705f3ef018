import { describe, expect, it } from "vitest";
import {
  DuplicateRootError,
  InvalidStorageUrlError,
  NestedRootsError,
  parseRootList,
  parseStorageUrl,
  redactUrl,
} from "../src/index.js";

describe("parseStorageUrl", () => {
  it.each([
    ["file:///mnt/nvme1/wal/", "file:///mnt/nvme1/wal"],
    ["file:///mnt//nvme1/./wal", "file:///mnt/nvme1/wal"],
    ["file://localhost/mnt/x", "file:///mnt/x"],
    ["mem://disk1", "mem://disk1"],
    ["mem://disk1/wal/", "mem://disk1/wal"],
    ["s3://wal-bucket/proximadb/", "s3://wal-bucket/proximadb"],
    ["s3://wal-bucket", "s3://wal-bucket"],
    ["S3://wal-bucket//a//b", "s3://wal-bucket/a/b"],
    ["adls://acct1/container/viper", "adls://acct1/container/viper"],
    ["gcs://data-bucket/viper", "gcs://data-bucket/viper"],
    ["gs://data-bucket/viper", "gcs://data-bucket/viper"],
  ])("normalises %s to %s", (input, url) => {
    expect(parseStorageUrl(input).url).toBe(url);
  });

  it("splits each scheme into its parts", () => {
    expect(parseStorageUrl("s3://b1b/p/q")).toMatchObject({ scheme: "s3", bucket: "b1b", prefix: "p/q" });
    expect(parseStorageUrl("adls://acct/cont/p")).toMatchObject({
      scheme: "adls",
      account: "acct",
      container: "cont",
      prefix: "p",
    });
    expect(parseStorageUrl("gs://bkt")).toMatchObject({ scheme: "gcs", bucket: "bkt", prefix: "" });
    expect(parseStorageUrl("file:///a/b")).toMatchObject({ scheme: "file", path: "/a/b", prefix: "" });
  });

  it("resolves relative file paths against the base folder", () => {
    expect(parseStorageUrl("file://data/wal", { baseDir: "/etc/proximadb" }).url).toBe(
      "file:///etc/proximadb/data/wal",
    );
    expect(parseStorageUrl("file:./data/wal", { baseDir: "/srv" }).url).toBe("file:///srv/data/wal");
    expect(() => parseStorageUrl("file:data/wal")).toThrow(InvalidStorageUrlError);
  });

  it.each([
    ["ftp://host/x", /unknown scheme/],
    ["wal", /expected <scheme>/],
    ["", /empty/],
    ["s3://", /missing bucket/],
    ["s3:///prefix", /missing bucket/],
    ["adls://acct", /missing container/],
    ["adls://acct/", /missing container/],
    ["gcs://", /missing bucket/],
    ["s3://Bad_Bucket/x", /not a valid bucket/],
    ["s3://key:secret@bucket/x", /credentials/],
    ["s3://bucket/x?versionId=1", /query strings/],
    ["s3://bucket/x#frag", /query strings/],
    ["file:///a/../b", /'\.\.'/],
    ["s3://bucket/a/../b", /'\.\.'/],
    ["file:///", /cannot be a storage root/],
    ["s3://bucket:9000/x", /endpoints/],
    ["file:///a\0b", /control characters/],
    ["mem://", /needs a name/],
  ])("rejects %j with a typed error", (input, message) => {
    let caught: unknown;
    try {
      parseStorageUrl(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidStorageUrlError);
    expect((caught as Error).message).toMatch(message);
  });

  it("names the URL but never its secret", () => {
    const err = (() => {
      try {
        parseStorageUrl("s3://AKIAXXX:supersecret@bucket/x?X-Amz-Signature=topsecret");
      } catch (e) {
        return e as InvalidStorageUrlError;
      }
    })();
    expect(err).toBeInstanceOf(InvalidStorageUrlError);
    expect(err?.message).not.toContain("supersecret");
    expect(err?.message).not.toContain("topsecret");
    expect(err?.message).not.toContain("AKIAXXX");
    expect(JSON.stringify(err)).not.toContain("supersecret");
    expect(err?.message).toContain("bucket/x");
  });

  it("redactUrl strips user info, query and fragment", () => {
    expect(redactUrl("https://u:p@host/path?sig=1#x")).toBe("https://***@host/path");
  });
});

describe("parseRootList", () => {
  it("keeps order and accepts disjoint roots", () => {
    const roots = parseRootList([
      "file:///mnt/a/wal",
      "file:///mnt/ab/wal",
      "s3://xbk/p",
      "s3://xbk/pq",
      "s3://ybk/p",
    ]);
    expect(roots.map((r) => r.url)).toEqual([
      "file:///mnt/a/wal",
      "file:///mnt/ab/wal",
      "s3://xbk/p",
      "s3://xbk/pq",
      "s3://ybk/p",
    ]);
  });

  it("rejects duplicates after normalisation", () => {
    expect(() => parseRootList(["file:///a/b", "file:///a/b/"])).toThrow(DuplicateRootError);
    expect(() => parseRootList(["gs://bkt/p", "gcs://bkt/p"])).toThrow(DuplicateRootError);
  });

  it.each([
    [["file:///a/b", "file:///a/b/c"]],
    [["file:///a/b/c", "file:///a/b"]],
    [["s3://xbk/p", "s3://xbk/p/q"]],
    [["s3://xbk", "s3://xbk/anything"]],
    [["adls://acct/cont", "adls://acct/cont/p"]],
    [["mem://d1", "mem://d1/wal"]],
  ])("rejects nested roots %j", (urls) => {
    expect(() => parseRootList(urls)).toThrow(NestedRootsError);
  });

  it("nests only within one location", () => {
    expect(() =>
      parseRootList(["s3://xbk/p", "gcs://xbk/p/q", "adls://acct/cont/p", "adls://acct/cont2/p"]),
    ).not.toThrow();
  });
});
