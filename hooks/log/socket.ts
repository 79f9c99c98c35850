// The log plugin's other destinations, for hosts where a record should go
// where the rest of the system logs: the journal's native socket, else
// syslog's /dev/log. Both take one datagram per record.
import { existsSync } from "node:fs";
import { sys } from "../../src/sys/lib.ts";
import { cstr } from "../../src/sys/mem.ts";

const JOURNAL_SOCKET = "/run/systemd/journal/socket";
const SYSLOG_SOCKET = "/dev/log";

function send(path: string, text: string): void {
  const data = Buffer.from(text);
  const rc = sys.bunc_send_dgram(cstr(path), data, data.length);
  if (rc < 0) throw new Error(`${path}: ${sys.bunc_strerror(-rc)}`);
}

/** The journal's native protocol: KEY=value lines (a value without a newline may be written so). */
export function toJournal(line: string, id: string, socket = JOURNAL_SOCKET): void {
  const fields = ["SYSLOG_IDENTIFIER=bunc", "PRIORITY=6", `CONTAINER_ID=${id}`, `MESSAGE=${line}`];
  send(socket, `${fields.join("\n")}\n`);
}

/** RFC 3164 as /dev/log takes it: <facility*8+severity>tag: message (daemon.info). */
export function toSyslog(line: string, socket = SYSLOG_SOCKET): void {
  send(socket, `<30>bunc: ${line}`);
}

export function systemLog(): "journal" | "syslog" | null {
  if (existsSync(JOURNAL_SOCKET)) return "journal";
  if (existsSync(SYSLOG_SOCKET)) return "syslog";
  return null;
}
