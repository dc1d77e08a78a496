import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Construct } from "constructs";
import { ConfigError, parseConfig, type TokenstreamConfig } from "./config.ts";

/** Context key holding the inline configuration object (cdk.json `context.tokenstream`). */
export const CONFIG_CONTEXT_KEY = "tokenstream";
/** Context key naming a JSON configuration file (`npx cdk deploy -c config=prod.json`); wins over the inline one. */
export const CONFIG_FILE_CONTEXT_KEY = "config";

/**
 * Reads and validates the configuration from the app's context: the file named by `-c config=path.json`
 * if given, else the `tokenstream` object in cdk.json.
 */
export function loadConfig(scope: Construct): TokenstreamConfig {
  const file = scope.node.tryGetContext(CONFIG_FILE_CONTEXT_KEY) as unknown;
  if (file !== undefined) {
    if (typeof file !== "string" || file === "") {
      throw new ConfigError(["-c config=<path> must name a JSON file"]);
    }
    const path = resolve(file);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new ConfigError([`config file ${path} cannot be read: ${(error as Error).message}`]);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new ConfigError([`config file ${path} is not valid JSON: ${(error as Error).message}`]);
    }
    // Topic files named in the config file are relative to it.
    return parseConfig(raw, { baseDir: dirname(path) });
  }
  let inline = scope.node.tryGetContext(CONFIG_CONTEXT_KEY) as unknown;
  if (inline === undefined) {
    throw new ConfigError([
      `no configuration: add a "${CONFIG_CONTEXT_KEY}" object to cdk.json context or pass -c ${CONFIG_FILE_CONTEXT_KEY}=path.json`,
    ]);
  }
  // `-c tokenstream='{...}'` arrives as a string.
  if (typeof inline === "string") {
    try {
      inline = JSON.parse(inline);
    } catch (error) {
      throw new ConfigError([
        `context "${CONFIG_CONTEXT_KEY}" is not valid JSON: ${(error as Error).message}`,
      ]);
    }
  }
  return parseConfig(inline);
}
