// The fds that follow the plan over the channel: one SCM_RIGHTS message
// each, in the order the plan's `fds` lists them, so each side knows every
// fd by what it is rather than by counting.
import { check } from "../sys/errors.ts";
import { sys } from "../sys/lib.ts";
import type { InitFd } from "./plan.ts";

/** Runtime side: sends the fd `fdOf` gives for each slot. */
export function sendFds(sock: number, slots: readonly InitFd[], fdOf: (slot: InitFd) => number): void {
  for (const slot of slots) check(sys.bunc_send_fd(sock, fdOf(slot)), `send the init its ${slot.kind} fd`);
}

export interface ReceivedFds {
  readonly stateDir: number;
  readonly cgroupJoin: readonly number[];
  /** Id-mapped trees by the field of their mount step. */
  readonly trees: ReadonlyMap<string, number>;
  readonly seccompListener: number | null;
  readonly waiter: number | null;
}

/** Init side: receives one fd per slot. */
export function receiveFds(sock: number, slots: readonly InitFd[]): ReceivedFds {
  let stateDir = -1;
  const cgroupJoin: number[] = [];
  const trees = new Map<string, number>();
  let seccompListener: number | null = null;
  let waiter: number | null = null;
  for (const slot of slots) {
    const fd = check(sys.bunc_recv_fd(sock), `receive the ${slot.kind} fd from the runtime`);
    if (slot.kind === "stateDir") stateDir = fd;
    else if (slot.kind === "cgroupJoin") cgroupJoin.push(fd);
    else if (slot.kind === "idmapTree") trees.set(slot.field, fd);
    else if (slot.kind === "waiter") waiter = fd;
    else seccompListener = fd;
  }
  if (stateDir < 0) throw new Error("the runtime sent no state directory");
  return { stateDir, cgroupJoin, trees, seccompListener, waiter };
}
