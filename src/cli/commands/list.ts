import { statSync, writeSync } from "node:fs";
import { defineCommand } from "citty";
import { currentStatus, stateOutput } from "../../lifecycle/status.ts";
import type { StateOutput } from "../../oci/state.ts";
import { DamagedState } from "../../lifecycle/store.ts";
import { rejectUnknownFlags, store } from "../command.ts";
import { ownerName, table } from "../table.ts";

const DAMAGED = {
  ociVersion: "",
  pid: 0,
  status: "damaged",
  bundle: "",
  rootfs: "",
  created: "",
  annotations: {},
} as const;

export default defineCommand({
  meta: { name: "list", description: "list the containers under --root" },
  args: {
    format: { type: "string", alias: "f", default: "table", description: "table or json" },
    quiet: { type: "boolean", alias: "q", description: "print only the ids" },
  },
  run(ctx) {
    rejectUnknownFlags(ctx);
    const format = ctx.args.format;
    if (format !== "table" && format !== "json")
      throw new Error(`--format: must be table or json, not ${format}`);
    const s = store();
    // Ids alone need no state read: -q stays cheap however many containers there are.
    if (ctx.args.quiet) {
      const ids = s.ids();
      if (ids.length > 0) writeSync(1, `${ids.join("\n")}\n`);
      return;
    }
    const states: StateOutput[] = [];
    for (const id of s.ids()) {
      let owner: string;
      try {
        owner = ownerName(statSync(s.dir(id)).uid);
      } catch {
        continue; // deleted since we listed it
      }
      try {
        const { state, status } = currentStatus(s, id);
        states.push({ ...stateOutput(state, status), owner });
      } catch (e) {
        if (!(e instanceof DamagedState)) throw e;
        // Listed, so that it can be found and removed (delete --force).
        states.push({ ...DAMAGED, id, owner });
      }
    }
    if (format === "json") {
      writeSync(1, `${JSON.stringify(states)}\n`);
    } else {
      const rows = states.map((st) => [st.id, String(st.pid), st.status, st.bundle, st.created, st.owner]);
      writeSync(1, table(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], rows));
    }
  },
});
