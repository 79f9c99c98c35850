// rtnetlink from TypeScript: messages are built here and written to a
// NETLINK_ROUTE socket (made by the C object in the namespace asked for);
// every request asks for an ack, and a refusal comes back as an error naming
// what was being done and the kernel's reason.
import { readSync, writeSync } from "node:fs";
import { SysError } from "../../src/sys/errors.ts";
import { sys } from "../../src/sys/lib.ts";

const NETLINK_ROUTE = 0;
export const RTM = { NEWLINK: 16, DELLINK: 17, GETLINK: 18, NEWADDR: 20, NEWROUTE: 24 } as const;
export const NLM_F = { REQUEST: 1, ACK: 4, EXCL: 0x200, CREATE: 0x400 } as const;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
export const IFLA = { IFNAME: 3, MTU: 4, MASTER: 10, LINKINFO: 18, NET_NS_FD: 28 } as const;
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
export const VETH_INFO_PEER = 1;
export const IFA = { ADDRESS: 1, LOCAL: 2, FLAGS: 8 } as const;
export const IFA_F_NODAD = 0x02;
export const RTA = { OIF: 4, GATEWAY: 5 } as const;
export const IFF_UP = 1;
export const AF = { 4: 2, 6: 10 } as const;
const NLA_F_NESTED = 0x8000;

/** A netlink attribute: header, payload, padding to 4 bytes. */
export function attr(type: number, payload: Uint8Array | string | number): Buffer {
  const body =
    typeof payload === "string"
      ? Buffer.from(`${payload}\0`)
      : typeof payload === "number"
        ? u32(payload)
        : Buffer.from(payload);
  const len = 4 + body.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  body.copy(out, 4);
  return out;
}

export const nested = (type: number, ...attrs: Buffer[]) => attr(type | NLA_F_NESTED, Buffer.concat(attrs));

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** struct ifinfomsg. */
export function ifinfomsg(o: { index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(o.index ?? 0, 4);
  b.writeUInt32LE(o.flags ?? 0, 8);
  b.writeUInt32LE(o.change ?? 0, 12);
  return b;
}

/** struct ifaddrmsg. */
export function ifaddrmsg(family: 4 | 6, prefix: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(AF[family], 0);
  b.writeUInt8(prefix, 1);
  b.writeUInt32LE(index, 4);
  return b;
}

/** struct rtmsg for a unicast route in the main table. */
export function rtmsg(family: 4 | 6, dstLen: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(AF[family], 0);
  b.writeUInt8(dstLen, 1);
  b.writeUInt8(254, 4); // RT_TABLE_MAIN
  b.writeUInt8(3, 5); // RTPROT_BOOT
  b.writeUInt8(0, 6); // RT_SCOPE_UNIVERSE
  b.writeUInt8(1, 7); // RTN_UNICAST
  return b;
}

/** The kernel refused a request: errno, and what was being done. */
export class NetlinkError extends SysError {}

export class Netlink {
  private seq = 0;
  private readonly buf = Buffer.alloc(64 << 10);

  private constructor(private readonly fd: number) {}

  /** A socket in the network namespace netnsFd (null: the runtime's own). */
  static open(netnsFd: number | null, what: string): Netlink {
    const fd = sys.bunc_netlink_socket(netnsFd ?? -1, NETLINK_ROUTE);
    if (fd < 0) throw new NetlinkError(-fd, `${what}: open a netlink socket`);
    return new Netlink(fd);
  }

  close(): void {
    sys.bunc_close(this.fd);
  }

  /** Sends one request and returns the payloads of its replies (none for a plain ack). */
  request(type: number, flags: number, body: Buffer, what: string): Buffer[] {
    const seq = ++this.seq;
    const header = Buffer.alloc(16);
    header.writeUInt32LE(16 + body.length, 0);
    header.writeUInt16LE(type, 4);
    header.writeUInt16LE(flags | NLM_F.REQUEST | NLM_F.ACK, 6);
    header.writeUInt32LE(seq, 8);
    writeSync(this.fd, Buffer.concat([header, body]));
    const replies: Buffer[] = [];
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      for (let off = 0; off + 16 <= n; ) {
        const len = this.buf.readUInt32LE(off);
        const msgType = this.buf.readUInt16LE(off + 4);
        const msgSeq = this.buf.readUInt32LE(off + 8);
        const payload = Buffer.from(this.buf.subarray(off + 16, off + len));
        off += (len + 3) & ~3;
        if (msgSeq !== seq || len < 16) continue;
        if (msgType === NLMSG_ERROR) {
          const errno = -payload.readInt32LE(0);
          if (errno !== 0) throw new NetlinkError(errno, what);
          return replies;
        }
        if (msgType === NLMSG_DONE) return replies;
        replies.push(payload);
      }
    }
  }
}

/** The attributes after a fixed header, by type (nested ones as their raw payload). */
export function parseAttrs(payload: Buffer, headerLen: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = headerLen; off + 4 <= payload.length; ) {
    const len = payload.readUInt16LE(off);
    if (len < 4) break;
    out.set(payload.readUInt16LE(off + 2) & ~NLA_F_NESTED, payload.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}
