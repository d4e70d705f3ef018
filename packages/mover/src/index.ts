export * from "./layout.js";
export * from "./throttle.js";
export * from "./copy.js";
export * from "./commit.js";
export * from "./move.js";
export * from "./recover.js";
