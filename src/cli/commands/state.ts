import { writeSync } from "node:fs";
import { defineCommand } from "citty";
import { currentStatus, stateOutput } from "../../lifecycle/status.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";

export default defineCommand({
  meta: { name: "state", description: "print the state of a container as JSON" },
  args: idArg,
  run(ctx) {
    rejectUnknownFlags(ctx);
    const { state, status } = currentStatus(store(), idOf(ctx.args));
    writeSync(1, `${JSON.stringify(stateOutput(state, status), null, 2)}\n`);
  },
});
