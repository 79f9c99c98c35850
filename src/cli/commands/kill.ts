import { defineCommand } from "citty";
import { killContainer } from "../../lifecycle/signal.ts";
import { parseSignal } from "../../lifecycle/signalName.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";

export default defineCommand({
  meta: { name: "kill", description: "send a signal (default TERM) to a container's process" },
  args: {
    ...idArg,
    signal: {
      type: "positional",
      description: "signal name (with or without SIG) or number",
      required: false,
      default: "TERM",
    },
    all: { type: "boolean", alias: "a", description: "signal every process in the container's cgroup" },
  },
  async run(ctx) {
    rejectUnknownFlags(ctx);
    await killContainer(store(), idOf(ctx.args), parseSignal(ctx.args.signal), ctx.args.all === true);
  },
});
