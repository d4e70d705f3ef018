export * from "./conformance/index.js";
export * from "./fault-proxy.js";
