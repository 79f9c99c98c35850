// The container's init: the runtime binary re-executed inside the new
// namespaces. It builds the root filesystem from the plan it is sent, reports
// ready, waits for `start`, and makes the final C act. Imports stay minimal:
// every container pays for them.
import { writeSync } from "node:fs";
import { receiveMessage, sendMessage } from "./channel.ts";
import { execFinal } from "./final.ts";
import { INIT_CHANNEL_FD, INIT_CONSOLE_FD, INIT_STATE_DIR_FD, type InitPlan } from "./plan.ts";
import { closeProc, writeProc } from "./proc.ts";
import { resolveProgram } from "./program.ts";
import { sys } from "../sys/lib.ts";
import { check } from "../sys/errors.ts";
import { ERRLEN, errText } from "../sys/mem.ts";
import { finishRootfs, prepareRootfs } from "../rootfs/prepare.ts";
import { setupConsole } from "../rootfs/console.ts";

// Settings written through /proc while the host's procfs is still mounted
// (it shows the init's own namespaces for /proc/sys and /proc/self).
function applyProcSettings(plan: InitPlan): void {
  const adj = plan.process.oomScoreAdj;
  if (adj !== null) writeProc("self/oom_score_adj", String(adj), "process.oomScoreAdj");
  for (const [key, path, value] of plan.sysctl) writeProc(path, value, `linux.sysctl.${key}`);
  if (plan.execLabel) writeProc(plan.execLabel.file, plan.execLabel.value, plan.execLabel.what);
  closeProc();
}

/** The id-mapped trees the runtime sends after the plan, one per such mount step. */
function receiveTrees(plan: InitPlan): number[] {
  const count = plan.steps.filter((s) => s.op === "mount" && s.idmap).length;
  return Array.from({ length: count }, () =>
    check(sys.bunc_recv_fd(INIT_CHANNEL_FD), "receive an id-mapped mount"),
  );
}

function run(): never {
  sys.bunc_set_dumpable(0);
  process.umask(0);
  const plan = receiveMessage<InitPlan>(INIT_CHANNEL_FD);
  if (!plan) process.exit(1);
  let ttyFd: number | null = null;
  let cgroupFds: number[];
  let path: string;
  try {
    // Host paths: open them while the host's tree is still reachable.
    cgroupFds = [...plan.cgroupJoin];
    applyProcSettings(plan);
    prepareRootfs(plan, receiveTrees(plan));
    if (plan.process.terminal) ttyFd = setupConsole(INIT_CONSOLE_FD, plan.process.consoleSize);
    finishRootfs(plan);
    path = resolveProgram(plan.process);
  } catch (e) {
    sendMessage(INIT_CHANNEL_FD, { error: (e as Error).message });
    process.exit(1);
  }
  sendMessage(INIT_CHANNEL_FD, { ready: true });
  sys.bunc_close(INIT_CHANNEL_FD);

  const err = Buffer.alloc(ERRLEN);
  if (sys.bunc_wait_start(INIT_STATE_DIR_FD, err) < 0) fail(errText(err));
  fail(
    execFinal({
      process: plan.process,
      path,
      cgroupFds,
      newCgroupns: plan.newCgroupns,
      capLast: plan.capLast,
      ttyFd,
    }),
  );
}

function fail(msg: string): never {
  writeSync(2, `bunc init: ${msg}\n`);
  process.exit(127);
}

run();
