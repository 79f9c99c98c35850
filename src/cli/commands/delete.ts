import { defineCommand } from "citty";
import { deleteContainer } from "../../lifecycle/delete.ts";
import { idArg, idOf, rejectUnknownFlags, store } from "../command.ts";

export default defineCommand({
  meta: { name: "delete", description: "delete a container and everything it holds" },
  args: {
    ...idArg,
    force: { type: "boolean", alias: "f", description: "kill a running container first" },
  },
  async run(ctx) {
    rejectUnknownFlags(ctx);
    await deleteContainer(store(), idOf(ctx.args), ctx.args.force === true);
  },
});
