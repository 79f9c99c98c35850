// Entry point. The init path is decided before anything else is imported:
// it must not pay for the CLI.
if (process.argv[2] === "init") {
  import("./init/main.ts");
} else if (process.argv[2] === "unpack-worker") {
  // The unpack plugin's layer applier, run inside a rootless container's user namespace.
  import("../hooks/unpack/worker.ts");
} else if (process.argv[2] === "network-proxy") {
  // The network plugin's port forwarder, a process of its own.
  import("../hooks/network/proxy.ts");
} else {
  import("./cli/main.ts").then(({ cli }) => cli(process.argv.slice(2)));
}
