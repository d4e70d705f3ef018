// Parser for the `multipart/related` bodies of `uploadType=multipart` (JSON metadata part, then media part).
import { GcsHttpError } from "./store.js";

/** The two parts of a multipart upload. */
export interface MultipartUpload {
  readonly metadata: Record<string, unknown>;
  readonly contentType: string | undefined;
  readonly media: Buffer;
}

/** Splits a `multipart/related; boundary=…` body into its metadata and media parts. */
export function parseMultipartRelated(contentTypeHeader: string | undefined, body: Buffer): MultipartUpload {
  const m = /boundary="?([^";]+)"?/i.exec(contentTypeHeader ?? "");
  if (!m) throw new GcsHttpError(400, "invalid", "multipart upload without a boundary");
  const delimiter = Buffer.from(`--${m[1]}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break; // closing delimiter
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    // Part = CRLF headers CRLF CRLF content CRLF
    parts.push(body.subarray(start + 2, next - 2));
    at = next;
  }
  if (parts.length < 2)
    throw new GcsHttpError(400, "invalid", "multipart upload needs a metadata part and a media part");
  const [meta, media] = parts.map(splitPart) as [ReturnType<typeof splitPart>, ReturnType<typeof splitPart>];
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(meta.content.toString("utf8") || "{}");
  } catch {
    throw new GcsHttpError(400, "parseError", "metadata part is not JSON");
  }
  return { metadata, contentType: media.headers["content-type"], media: media.content };
}

function splitPart(part: Buffer): { headers: Record<string, string>; content: Buffer } {
  const end = part.indexOf("\r\n\r\n");
  if (end < 0) return { headers: {}, content: part };
  const headers: Record<string, string> = {};
  for (const line of part.subarray(0, end).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, content: part.subarray(end + 4) };
}
