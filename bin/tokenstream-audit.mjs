#!/usr/bin/env node
// `npx tokenstream-audit`: runs the TypeScript entry through tsx, so no build step is needed.
import { register } from "tsx/esm/api";

register();
await import("./tokenstream-audit.ts");
