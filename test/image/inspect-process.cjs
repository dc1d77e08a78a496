// Run inside the container with `node -e <this file's text> <JSON argv>`: finds the process whose argv is the
// given one and prints its pid, uid and parent pid, and whether the root filesystem (/app) is writable.
const fs = require("node:fs");

const wanted = process.argv[1];
const argv = (pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
const pid = fs
  .readdirSync("/proc")
  .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
  .find((d) => JSON.stringify(argv(d)) === wanted);
if (pid === undefined) throw new Error(`no process with argv ${wanted}`);
const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
const field = (name) => new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)[1];
let root = "writable";
try {
  fs.writeFileSync("/app/probe", "x");
} catch (e) {
  root = e.code;
}
console.log(JSON.stringify({ pid, uid: field("Uid"), ppid: field("PPid"), root }));
