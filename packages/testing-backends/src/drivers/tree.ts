/** A folder tree as `{ "a/": "dir", "a/b.txt": [size, mtimeMs] }`, read through an fs-like module. */
export interface TreeFs {
  readdir(
    path: string,
    options: { withFileTypes: true },
  ): Promise<{ name: string; isDirectory(): boolean }[]>;
  stat(path: string): Promise<{ size: number; mtimeMs: number }>;
}

/** Everything under `dir` (folders as `"dir"`, files as `[size, mtimeMs]`), keyed by path relative to `dir`. */
export async function readTree(fs: TreeFs, dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(rel === "" ? dir : `${dir}/${rel}`, { withFileTypes: true });
    for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        out[`${path}/`] = "dir";
        await walk(path);
      } else {
        const st = await fs.stat(`${dir}/${path}`);
        out[path] = [st.size, st.mtimeMs];
      }
    }
  };
  await walk("");
  return out;
}
