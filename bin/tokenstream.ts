#!/usr/bin/env node
/** CDK app entry: `npx cdk synth | deploy` (config: cdk.json context "tokenstream" or -c config=path.json). */
import { App } from "aws-cdk-lib";
import { ConfigError } from "../lib/config.ts";
import { loadConfig } from "../lib/config-source.ts";
import { addTokenstream } from "../lib/tokenstream-app.ts";

const app = new App();
try {
  addTokenstream(app, loadConfig(app));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
app.synth();
