// The browser UI is type-checked with the DOM library; the Node code never reaches these globals at
// run time because src/web is bundled separately (scripts/build-web.mjs) and excluded from dist.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
