/**
 * Key ordering shared by every listing: ascending by UTF-8 bytes, the order S3, GCS and Azure return.
 * (JavaScript's `<` compares UTF-16 code units, which disagrees for characters beyond U+FFFF.)
 */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Splits a listing prefix into the folder to read and the name prefix entries must start with. */
export function splitPrefix(prefix: string): { dir: string; name: string } {
  const slash = prefix.lastIndexOf("/");
  return slash < 0
    ? { dir: "", name: prefix }
    : { dir: prefix.slice(0, slash), name: prefix.slice(slash + 1) };
}

/** Parent folder of a root-relative key ("" for a top-level key). */
export function parentOf(key: string): string {
  const slash = key.lastIndexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

/** Last segment of a root-relative key. */
export function baseOf(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}
