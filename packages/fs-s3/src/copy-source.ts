/** CopyObject copies at most 5 GiB in one request; larger objects need a multipart UploadPartCopy. */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;

/**
 * The `x-amz-copy-source` header value for `bucket/key`: every path segment percent-encoded
 * (RFC 3986, so `+` becomes `%2B`, a space `%20`, unicode its UTF-8 escapes), slashes kept.
 * AWS percent-decodes the header; an unencoded `+` would be read as a space.
 */
export function encodeCopySource(bucket: string, key: string): string {
  const encode = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${encode(bucket)}/${key.split("/").map(encode).join("/")}`;
}
