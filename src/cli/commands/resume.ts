import { defineCommand } from "citty";
import { setPaused } from "../../lifecycle/pause.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";

export default defineCommand({
  meta: { name: "resume", description: "resume every process of a paused container" },
  args: idArg,
  run(ctx) {
    rejectUnknownFlags(ctx);
    setPaused(store(), idOf(ctx.args), false);
  },
});
