// The unpack plugin's worker for a rootless bunc: our binary, started by
// the runtime in a user namespace (the container's mappings, or all of the
// user's ranges, written by newuidmap), acting as that namespace's root:
// it unpacks a layer, giving files every id the mapping has, or removes
// trees that such ids own, neither of which the user itself may do. It
// answers once over the channel and exits.
import { mkdirSync, rmSync } from "node:fs";
import { receiveMessage, sendMessage } from "../../src/protocol/channel.ts";
import { initFds } from "../../src/protocol/plan.ts";
import { errorLine } from "../../src/sys/errors.ts";
import { adoptLibrary } from "../../src/sys/lib.ts";
import type { IdShift } from "./apply.ts";
import { unpackLayer } from "./cache.ts";
import type { WorkerReply, WorkerRequest } from "./workerProtocol.ts";

async function act(req: WorkerRequest): Promise<WorkerReply> {
  if (req.op === "remove") {
    for (const p of req.paths) rmSync(p, { recursive: true, force: true });
    return {};
  }
  if (req.op === "mkdirs") {
    for (const p of req.paths) mkdirSync(p, { mode: 0o755 });
    return {};
  }
  const layer = { digest: req.digest, size: req.size, diffId: req.diffId, file: () => req.file };
  // Inside the namespace ids are the container's own: the shift only checks that each is mapped.
  const same = (m: IdShift["uid"]) => m.map(([inside, , size]) => [inside, inside, size] as const);
  const mapped = { uid: same(req.shift.uid), gid: same(req.shift.gid) };
  return { meta: await unpackLayer(layer, req.dir, mapped, () => {}, "user.overlay.opaque") };
}

const FDS = initFds(0);
adoptLibrary(FDS.lib);
process.umask(0);
const req = receiveMessage<WorkerRequest>(FDS.channel);
if (!req) process.exit(1);
let reply: WorkerReply;
try {
  reply = await act(req);
} catch (e) {
  reply = { error: errorLine(e) };
}
sendMessage(FDS.channel, reply);
process.exit(0);
