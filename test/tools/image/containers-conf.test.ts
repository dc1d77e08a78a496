import { describe, expect, it } from "vitest";
import { containersConf, parseHardLimits } from "../../../tools/image/containers-conf.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             96367                96367                processes
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe("containers.conf for the image test", () => {
  it("reads the hard limits from /proc/self/limits", () => {
    expect(parseHardLimits(LIMITS)).toEqual({ openFiles: 20_000, processes: 96_367 });
    const unlimited = LIMITS.replace(/Max processes .*/, "Max processes unlimited unlimited processes");
    expect(parseHardLimits(unlimited).processes).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses limits text it cannot read instead of guessing", () => {
    expect(() => parseHardLimits("Limit Soft Hard\n")).toThrow(/Max open files/);
    expect(() => parseHardLimits(LIMITS.replace("20000                files", "lots files"))).toThrow(
      /cannot read the hard limit/,
    );
  });

  it("never asks for ulimits above the host's hard limits (root here cannot raise them)", () => {
    const low = containersConf({ openFiles: 20_000, processes: 2_000 });
    expect(low).toContain('default_ulimits = ["nofile=20000:20000", "nproc=2000:2000"]');
    const high = containersConf({ openFiles: Number.POSITIVE_INFINITY, processes: Number.POSITIVE_INFINITY });
    expect(high).toContain('default_ulimits = ["nofile=65535:65535", "nproc=4096:4096"]');
  });

  it("selects runc, cgroupfs, a file event log and netavark", () => {
    const conf = containersConf({ openFiles: 1024, processes: 1024 });
    for (const line of [
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'network_backend = "netavark"',
    ]) {
      expect(conf).toContain(line);
    }
  });
});
