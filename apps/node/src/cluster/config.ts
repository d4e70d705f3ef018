import { z } from "zod";

/** The TOML `[cluster]` table (used with `[assignment_store] type = "etcd"`). */
export const CLUSTER_TABLE = z
  .object({
    lease_ttl_ms: z.number().int().min(1000).max(3_600_000).default(10_000),
    advertise_url: z
      .url({ protocol: /^https?$/, error: "an http:// or https:// URL" })
      .refine((u) => !/[?#]/.test(u), "no query or fragment")
      .optional(),
  })
  .strict()
  .default({ lease_ttl_ms: 10_000 });

/** `[cluster]`, validated. The cluster's name is `[assignment_store] cluster`; the node's id `[server] node_id`. */
export interface ClusterConfig {
  /** The node's etcd lease: peers take its collections over this long after it stops answering. */
  readonly leaseTtlMs: number;
  /**
   * The URL other nodes redirect clients to (`Location` of a 307). Unset: `http://<server.host>:<port>`
   * with the port the node listens on.
   */
  readonly advertiseUrl: string | undefined;
}

/** Builds {@link ClusterConfig} from the checked table. */
export function clusterConfig(raw: z.infer<typeof CLUSTER_TABLE>): ClusterConfig {
  return {
    leaseTtlMs: raw.lease_ttl_ms,
    advertiseUrl: raw.advertise_url?.replace(/\/+$/, ""),
  };
}

/** The advertised URL: the configured one, else the listening address (`http://host:port`). */
export function advertisedUrl(config: ClusterConfig, listening: string): string {
  return config.advertiseUrl ?? listening.replace(/\/+$/, "");
}
