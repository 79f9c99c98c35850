// The container's init: the runtime binary re-executed inside the new
// namespaces. It builds the root filesystem from the plan it is sent, reports
// ready, waits for `start`, and makes the final C act. Imports stay minimal:
// every container pays for them. Whatever fails, it reports one line (to
// the runtime while it is listening, to stderr after), never a stack.
import { writeSync } from "node:fs";
import { receiveMessage, sendMessage } from "../protocol/channel.ts";
import { type ReceivedFds, receiveFds } from "../protocol/fds.ts";
import { initFds, type InitPlan, type InitReply, type RuntimeHooksDone } from "../protocol/plan.ts";
import { setupConsole } from "../rootfs/console.ts";
import { finishRootfs, prepareRootfs } from "../rootfs/prepare.ts";
import { check, errorLine } from "../sys/errors.ts";
import { adoptLibrary, sys } from "../sys/lib.ts";
import { ErrBuf } from "../sys/mem.ts";
import { execFinal, execWaiter } from "../protocol/final.ts";
import { runContainerHooks } from "./hooks.ts";
import { closeProc, writeProc } from "./proc.ts";
import { resolveProgram } from "./program.ts";

// Settings written through /proc while the host's procfs is still mounted
// (it shows the init's own namespaces for /proc/sys and /proc/self).
function applyProcSettings(plan: InitPlan): void {
  for (const [key, path, value] of plan.sysctl) writeProc(path, value, `linux.sysctl.${key}`);
  for (const l of plan.execLabels) writeProc(l.file, l.value, l.what);
  closeProc();
}

// The runtime passes the count of the caller's fds (LISTEN_FDS, --preserve-fds) after `init`.
const passed = Number(process.argv[3] ?? 0);
const FDS = initFds(passed);

function fail(msg: string): never {
  writeSync(2, `bunc init: ${msg}\n`);
  process.exit(127);
}

/** After `start`: the reason goes to it too, through the exec fifo it may be reading to its end. */
function failStarted(fifo: number, msg: string): never {
  try {
    writeSync(fifo, msg);
  } catch {
    // `start` did not wait: stderr has it.
  }
  fail(msg);
}

/** Mounts are in place: the runtime's hooks, then ours, see them before pivot_root. */
function beforePivot(plan: InitPlan): void {
  if (plan.runtimeHooks) {
    sendMessage(FDS.channel, { runtimeHooks: true } satisfies InitReply);
    // The runtime gave up (a hook of its failed): it reports why and ends us.
    if (!receiveMessage<RuntimeHooksDone>(FDS.channel)) process.exit(1);
  }
  runContainerHooks(plan, "createContainer", "creating", plan.rootfs);
}

/** The main thread into the v1 hierarchies now (see InitPlan.joinEarly); the final act joins again. */
function joinEarly(plan: InitPlan, fds: ReceivedFds): void {
  const files = plan.fds.flatMap((f) => (f.kind === "cgroupJoin" ? [f.file] : []));
  files.forEach((file, i) => {
    const fd = fds.cgroupJoin[i];
    if (fd !== undefined && file.endsWith("/tasks")) writeSync(fd, "0");
  });
}

/** Until the runtime has our answer, failures go to it. */
function setUp(plan: InitPlan): { fds: ReceivedFds; path: string; ttyFd: number | null } {
  try {
    const fds = receiveFds(FDS.channel, plan.fds);
    if (plan.joinEarly) joinEarly(plan, fds);
    applyProcSettings(plan);
    if (plan.newNetns) check(sys.bunc_loopback_up(), "bring up lo in the new network namespace");
    prepareRootfs(plan, fds.trees, () => beforePivot(plan));
    const ttyFd = plan.process.terminal ? setupConsole(FDS.console, plan.process.consoleSize) : null;
    // The caller's stdio is not the container's: let go of it now, or an engine
    // reading create's output (containerd's shim) waits until the container ends.
    if (ttyFd !== null)
      for (const fd of [0, 1, 2]) check(sys.bunc_dup2(ttyFd, fd), "make the pty the init's stdio");
    finishRootfs(plan);
    return { fds, path: resolveProgram(plan.process), ttyFd };
  } catch (e) {
    const reply: InitReply = { error: errorLine(e) };
    sendMessage(FDS.channel, reply);
    process.exit(1);
  }
}

function run(): never {
  adoptLibrary(FDS.lib);
  sys.bunc_set_dumpable(0);
  process.umask(0);
  const plan = receiveMessage<InitPlan>(FDS.channel);
  // The runtime went away before sending a plan: nothing to do.
  if (!plan) process.exit(1);
  const { fds, path, ttyFd } = setUp(plan);
  sendMessage(FDS.channel, { ready: true } satisfies InitReply);
  sys.bunc_close(FDS.channel);

  const final = {
    process: plan.process,
    seccompListener: fds.seccompListener,
    path,
    cgroupFds: fds.cgroupJoin,
    newCgroupns: plan.newCgroupns,
    capLast: plan.capLast,
    ttyFd,
    keepFds: 3 + passed,
  };
  // The waiter holds the container until `start`, not Bun (see planInit).
  if (fds.waiter !== null) {
    try {
      execWaiter(final, fds.stateDir, fds.waiter);
    } catch {
      // It did not start (a kernel refusing to execute a memfd, say): we wait
      // ourselves, with the same acts, so its reason is no failure of the container's.
    }
    sys.bunc_close(fds.waiter);
  }

  const err = new ErrBuf();
  const fifo = sys.bunc_wait_start(fds.stateDir, err.buf, err.len);
  if (fifo < 0) fail(err.text());
  try {
    runContainerHooks(plan, "startContainer", "created", plan.process.cwd);
  } catch (e) {
    failStarted(fifo, errorLine(e));
  }
  failStarted(fifo, execFinal(final));
}

try {
  run();
} catch (e) {
  fail(errorLine(e));
}
