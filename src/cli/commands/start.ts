import { defineCommand } from "citty";
import { startContainer } from "../../lifecycle/start.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";

export default defineCommand({
  meta: { name: "start", description: "start the process of a created container" },
  args: idArg,
  async run(ctx) {
    rejectUnknownFlags(ctx);
    const { ready } = await startContainer(store(), idOf(ctx.args));
    await ready;
  },
});
