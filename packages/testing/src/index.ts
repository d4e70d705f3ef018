export * from "./conformance/index.js";
export * from "./fault-proxy.js";
export * from "./kill-harness/index.js";
export * from "./gated.js";
export * from "./forwarding.js";
