// Unpacking for a rootless bunc: each layer is applied by a worker (our
// binary in a user namespace with the container's mappings, worker.ts),
// as only that namespace's root may give files the container's other ids;
// what such ids own is removed by a worker too. The stack is mounted
// later, by the container's init inside its own user namespace (overlayfs
// with userxattr), since the user may mount nothing on the host.
import type { Config } from "../../src/oci/config.ts";
import { callerWideUserns, planUserns, type UsernsPlan } from "../../src/plan/userns.ts";
import { receiveMessage, sendMessage } from "../../src/protocol/channel.ts";
import { spawnInit } from "../../src/launch/spawn.ts";
import { CLONE } from "../../src/sys/constants.ts";
import { check } from "../../src/sys/errors.ts";
import { sys } from "../../src/sys/lib.ts";
import type { LayerMeta, Unpacker } from "./cache.ts";
import type { WorkerReply, WorkerRequest } from "./workerProtocol.ts";

/** Waits for the worker to end (it does once it has answered), killing it if it has not after 4 s. */
function reap(pid: number): void {
  const status = new Int32Array(1);
  for (let i = 0; check(sys.bunc_reap(pid, status), `wait for the unpack worker ${pid}`) !== 1; i++) {
    if (i === 4000) sys.bunc_kill(pid, 9);
    Bun.sleepSync(1);
  }
}

/** Runs one request through a worker in a new user namespace mapped as userns says. */
function inWorker(userns: UsernsPlan, req: WorkerRequest): WorkerReply & { meta?: LayerMeta } {
  const channel = new Int32Array(2);
  check(sys.bunc_socketpair(channel), "socketpair");
  const [ours = -1, initial = -1] = channel;
  let theirs = initial;
  let pid = -1;
  try {
    pid = spawnInit({
      namespaces: {
        cloneFlags: CLONE.NEWUSER,
        joins: [],
        newCgroupns: false,
        timeOffsets: null,
        userns,
        joinsUserns: false,
      },
      channelFd: theirs,
      consoleFd: null,
      cgroupFd: null,
      passFds: 0,
      oomScoreAdj: null,
      role: "unpack-worker",
    });
    // Only the worker holds its end now: its death reads as end of file.
    sys.bunc_close(theirs);
    theirs = -1;
    sendMessage(ours, req);
    const reply = receiveMessage<WorkerReply>(ours);
    if (!reply) throw new Error("the unpack worker ended without an answer");
    if ("error" in reply) throw new Error(reply.error);
    return reply;
  } finally {
    if (theirs >= 0) sys.bunc_close(theirs);
    sys.bunc_close(ours);
    if (pid > 0) reap(pid);
  }
}

/** An Unpacker that runs each layer through a worker in the container's user namespace. */
export function workerUnpacker(config: Config): Unpacker {
  const userns = planUserns(config);
  return async (layer, dir, shift) => {
    if (!shift) throw new Error("image: a rootless unpack needs the container's id mappings");
    const req: WorkerRequest = {
      op: "unpack",
      file: layer.file(),
      digest: layer.digest,
      size: layer.size,
      diffId: layer.diffId,
      dir,
      shift,
    };
    const { meta } = inWorker(userns, req);
    if (!meta) throw new Error("the unpack worker answered without the layer");
    return meta;
  };
}

/** Makes directories owned by the container's root, in its user namespace. */
export function makeAsContainerRoot(config: Config, paths: readonly string[]): void {
  inWorker(planUserns(config), { op: "mkdirs", paths });
}

/** Removes trees that the user's containers made, with all its ids mapped. */
export function removeAsUser(paths: readonly string[]): void {
  inWorker(callerWideUserns(), { op: "remove", paths });
}
