import { describe, expect, it } from "vitest";
import { parseLocalArgs } from "../../../tools/local/local-args.ts";

describe("npm start arguments", () => {
  it("no flags: the simulator with its defaults", () => {
    expect(parseLocalArgs([], {})).toEqual({});
  });

  it("--help returns nothing to run", () => {
    expect(parseLocalArgs(["--help"], {})).toBeUndefined();
    expect(parseLocalArgs(["-h"], {})).toBeUndefined();
  });

  it("reads the tuning flags", () => {
    expect(
      parseLocalArgs(
        [
          "--duration",
          "30",
          "--redundancy",
          "3",
          "--rate",
          "5",
          "--token-lifetime",
          "10",
          "--topics",
          "a, b",
        ],
        {},
      ),
    ).toEqual({
      durationMs: 30_000,
      redundancy: 3,
      eventRatePerTopic: 5,
      tokenLifetimeSec: 10,
      topics: ["a", "b"],
    });
    expect(parseLocalArgs([], { TOPICS: "x,y" })).toEqual({ topics: ["x", "y"] });
  });

  it("a real org from the environment, secret from the environment only", () => {
    const env = {
      GENESYS_ENV: "mypurecloud.ie",
      GENESYS_CLIENT_ID: "client",
      GENESYS_CLIENT_SECRET: "secret",
      TOPICS: "v2.users.u1.presence",
    };
    expect(parseLocalArgs([], env)?.real).toEqual({
      genesysEnv: "mypurecloud.ie",
      clientId: "client",
      clientSecret: "secret",
      topics: ["v2.users.u1.presence"],
    });
    expect(
      parseLocalArgs(["--genesys-env", "usw2.pure.cloud", "--client-id", "other", "--topics", "t"], {
        GENESYS_CLIENT_SECRET: "secret",
      })?.real,
    ).toEqual({ genesysEnv: "usw2.pure.cloud", clientId: "other", clientSecret: "secret", topics: ["t"] });
  });

  const bad: [string, string[], Record<string, string>, RegExp][] = [
    ["unknown flag", ["--bogus"], {}, /Unknown option '--bogus'/],
    ["duration not a number", ["--duration", "soon"], {}, /--duration must be a number >= 1/],
    ["redundancy 0", ["--redundancy", "0"], {}, /--redundancy must be a number >= 1/],
    [
      "real org without secret",
      ["--topics", "t"],
      { GENESYS_ENV: "mypurecloud.ie", GENESYS_CLIENT_ID: "c" },
      /GENESYS_CLIENT_SECRET/,
    ],
    [
      "real org without client id",
      ["--topics", "t"],
      { GENESYS_ENV: "mypurecloud.ie", GENESYS_CLIENT_SECRET: "s" },
      /GENESYS_CLIENT_ID/,
    ],
    [
      "real org without topics",
      [],
      { GENESYS_ENV: "mypurecloud.ie", GENESYS_CLIENT_ID: "c", GENESYS_CLIENT_SECRET: "s" },
      /needs --topics/,
    ],
    [
      "not a domain",
      ["--genesys-env", "https://x"],
      { GENESYS_CLIENT_ID: "c", GENESYS_CLIENT_SECRET: "s" },
      /not a domain/,
    ],
    ["client id without an org", ["--client-id", "c"], {}, /--client-id only applies with --genesys-env/],
  ];
  it.each(bad)("clear error: %s", (_name, argv, env, message) => {
    expect(() => parseLocalArgs(argv, env)).toThrow(message);
  });

  it("an error never repeats the client secret", () => {
    try {
      parseLocalArgs(["--genesys-env", "bad domain"], {
        GENESYS_CLIENT_ID: "c",
        GENESYS_CLIENT_SECRET: "s3cr3t-value",
      });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain("s3cr3t-value");
    }
  });
});
