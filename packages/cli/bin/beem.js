#!/usr/bin/env node
// The workspace's `beem`: runs the TypeScript sources through tsx, so `pnpm beem` needs no
// build step. The published package points its bin at the compiled dist/main.js instead.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
