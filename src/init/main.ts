// The container's init: the runtime binary re-executed inside the new
// namespaces. It builds the root filesystem from the plan it is sent, reports
// ready, waits for `start`, and makes the final C act. Imports stay minimal:
// every container pays for them.
import { writeSync } from "node:fs";
import { receiveMessage, sendMessage } from "../protocol/channel.ts";
import { execFinal } from "./final.ts";
import { INIT_CHANNEL_FD, INIT_CONSOLE_FD, type InitFds, type InitPlan } from "../protocol/plan.ts";
import { closeProc, writeProc } from "./proc.ts";
import { resolveProgram } from "./program.ts";
import { sys } from "../sys/lib.ts";
import { check } from "../sys/errors.ts";
import { ErrBuf } from "../sys/mem.ts";
import { finishRootfs, prepareRootfs } from "../rootfs/prepare.ts";
import { setupConsole } from "../rootfs/console.ts";

// Settings written through /proc while the host's procfs is still mounted
// (it shows the init's own namespaces for /proc/sys and /proc/self).
function applyProcSettings(plan: InitPlan): void {
  const adj = plan.process.oomScoreAdj;
  if (adj !== null) writeProc("self/oom_score_adj", String(adj), "process.oomScoreAdj");
  for (const [key, path, value] of plan.sysctl) writeProc(path, value, `linux.sysctl.${key}`);
  for (const l of plan.execLabels) writeProc(l.file, l.value, l.what);
  closeProc();
}

function receiveFds(plan: InitPlan): InitFds {
  const take = (n: number) =>
    Array.from({ length: n }, () =>
      check(sys.bunc_recv_fd(INIT_CHANNEL_FD), "receive an fd from the runtime"),
    );
  const [stateDir = -1] = take(1);
  const cgroupJoin = take(plan.cgroupJoinCount);
  const trees = take(plan.steps.filter((s) => s.op === "mount" && s.idmap).length);
  return { stateDir, cgroupJoin, trees };
}

function run(): never {
  sys.bunc_set_dumpable(0);
  process.umask(0);
  const plan = receiveMessage<InitPlan>(INIT_CHANNEL_FD);
  if (!plan) process.exit(1);
  let ttyFd: number | null = null;
  let fds: InitFds;
  let path: string;
  try {
    fds = receiveFds(plan);
    applyProcSettings(plan);
    prepareRootfs(plan, fds.trees);
    if (plan.process.terminal) ttyFd = setupConsole(INIT_CONSOLE_FD, plan.process.consoleSize);
    finishRootfs(plan);
    path = resolveProgram(plan.process);
  } catch (e) {
    sendMessage(INIT_CHANNEL_FD, { error: (e as Error).message });
    process.exit(1);
  }
  sendMessage(INIT_CHANNEL_FD, { ready: true });
  sys.bunc_close(INIT_CHANNEL_FD);

  const err = new ErrBuf();
  if (sys.bunc_wait_start(fds.stateDir, err.buf, err.len) < 0) fail(err.text());
  fail(
    execFinal({
      process: plan.process,
      path,
      cgroupFds: fds.cgroupJoin,
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
