import { describe, expect, it } from "vitest";
import { advertisedUrl } from "../src/cluster/config.js";
import { parseConfigText } from "../src/config.js";
import { embeddedDefaultToml } from "../src/default-config.js";
import { configError } from "./config-support.js";

const base = { baseDir: "/etc/proximadb", source: "test.toml" };
const good = embeddedDefaultToml();

describe("[cluster] configuration", () => {
  it("defaults: a 10 s lease and the listening address advertised", () => {
    const c = parseConfigText(good, base);
    expect(c.cluster).toEqual({ leaseTtlMs: 10_000, advertiseUrl: undefined });
    expect(advertisedUrl(c.cluster, "http://127.0.0.1:7070")).toBe("http://127.0.0.1:7070");
  });

  it("reads lease_ttl_ms and advertise_url (a trailing slash dropped)", () => {
    const c = parseConfigText(
      `${good}\n[cluster]\nlease_ttl_ms = 2000\nadvertise_url = "http://10.0.0.7:7070/"\n`,
      base,
    );
    expect(c.cluster).toEqual({ leaseTtlMs: 2000, advertiseUrl: "http://10.0.0.7:7070" });
    expect(advertisedUrl(c.cluster, "http://0.0.0.0:7070")).toBe("http://10.0.0.7:7070");
  });

  it.each([
    ["a lease below one second", "lease_ttl_ms = 999", "cluster.lease_ttl_ms"],
    ["a fractional lease", "lease_ttl_ms = 1500.5", "cluster.lease_ttl_ms"],
    ["a non-http advertise_url", 'advertise_url = "ftp://h:1"', "cluster.advertise_url"],
    ["an advertise_url with a query", 'advertise_url = "http://h:1/?x=1"', "cluster.advertise_url"],
    ["an unknown key", "leader = true", "cluster.leader"],
  ])("refuses %s with a ConfigError naming the key", (_what, line, path) => {
    const err = configError(`${good}\n[cluster]\n${line}\n`, base);
    expect(err.path).toBe(path);
    expect(err.code).toBe("INVALID_ARGUMENT");
  });

  it("takes the node id from [server] node_id", () => {
    const c = parseConfigText(`${good.replace("[server]", '[server]\nnode_id = "n-7"')}`, base);
    expect(c.server.nodeId).toBe("n-7");
  });
});
