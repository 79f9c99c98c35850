import { defineCommand } from "citty";
import { setPaused } from "../../lifecycle/pause.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";

export default defineCommand({
  meta: { name: "pause", description: "suspend every process of a running container" },
  args: idArg,
  run(ctx) {
    rejectUnknownFlags(ctx);
    setPaused(store(), idOf(ctx.args), true);
  },
});
