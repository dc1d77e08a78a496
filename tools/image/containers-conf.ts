/**
 * containers.conf for running the worker image with rootful podman on a CI VM (pure: text in, text out).
 *
 * What this machine class needs, and why:
 * - runtime runc: Debian bookworm's crun refuses the VM's hybrid cgroup layout; runc runs.
 * - cgroupfs and a file events log: there is no systemd session or journal to talk to.
 * - explicit ulimits: podman's default nofile/nproc (1048576) is above the hard limits here, and root lacks
 *   CAP_SYS_RESOURCE, so the container's init could not raise them. conmon runs with a lower nproc than the
 *   shell (32768 here), so nproc is kept well under both.
 * - netavark: the network backend Debian ships podman 4 with; the tests use the host network only.
 */

export interface HardLimits {
  /** Hard RLIMIT_NOFILE of the calling process. */
  openFiles: number;
  /** Hard RLIMIT_NPROC of the calling process. */
  processes: number;
}

/** Fargate's default nofile for a task (65535) when the host allows it. */
const NOFILE_WANTED = 65_535;
/** Ample for one node process (a dozen threads) while below every limit seen on these VMs. */
const NPROC_WANTED = 4_096;

/** Reads the hard limits from the text of /proc/self/limits; "unlimited" counts as no limit. */
export function parseHardLimits(procLimits: string): HardLimits {
  const hard = (label: string): number => {
    const line = procLimits.split("\n").find((l) => l.startsWith(label));
    if (line === undefined) throw new Error(`/proc/self/limits has no "${label}" line`);
    const fields = line.slice(label.length).trim().split(/\s+/);
    const value = fields[1];
    if (value === "unlimited") return Number.POSITIVE_INFINITY;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`cannot read the hard limit of "${label}": ${line}`);
    return n;
  };
  return { openFiles: hard("Max open files"), processes: hard("Max processes") };
}

export function containersConf(limits: HardLimits): string {
  const nofile = Math.min(NOFILE_WANTED, limits.openFiles);
  const nproc = Math.min(NPROC_WANTED, limits.processes);
  return [
    "# Written by tools/image (npm run test:image); see tools/image/containers-conf.ts for why.",
    "[containers]",
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    "",
    "[engine]",
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    "",
    "[network]",
    'network_backend = "netavark"',
    "",
  ].join("\n");
}
