export * from "../util/pystr.js";
export * from "./build-prompt.js";
export * from "./conditions.js";
export * from "./judge-prompts.js";
