// The link, address and route operations the plugin makes, each one
// rtnetlink request: the bridge, the veth pair with its container end made
// directly in the container's namespace, addresses, the default route.
import { ERRNO } from "../../src/sys/constants.ts";
import { addressBytes, type Family } from "./ip.ts";
import {
  attr,
  IFA,
  IFA_F_NODAD,
  IFF_UP,
  IFLA,
  IFLA_INFO,
  ifaddrmsg,
  ifinfomsg,
  type Netlink,
  NetlinkError,
  NLM_F,
  nested,
  RTA,
  RTM,
  rtmsg,
  VETH_INFO_PEER,
} from "./netlink.ts";

const CREATE = NLM_F.CREATE | NLM_F.EXCL;

/** The index of the link called name, or null when there is none. */
export function linkIndex(nl: Netlink, name: string, what: string): number | null {
  try {
    const [reply] = nl.request(RTM.GETLINK, 0, Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, name)]), what);
    return reply ? reply.readInt32LE(4) : null;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ERRNO.ENODEV) return null;
    throw e;
  }
}

/**
 * Makes a bridge; false when a link of that name is there already. Its MTU
 * is set afterwards (linkUp): one given at creation is not the user's to
 * the kernel, and goes when the last port leaves.
 */
export function addBridge(nl: Netlink, name: string, what: string): boolean {
  const body = Buffer.concat([
    ifinfomsg(),
    attr(IFLA.IFNAME, name),
    nested(IFLA.LINKINFO, attr(IFLA_INFO.KIND, "bridge")),
  ]);
  try {
    nl.request(RTM.NEWLINK, CREATE, body, what);
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ERRNO.EEXIST) return false;
    throw e;
  }
}

/** A veth pair: `host` here, `peer` made directly in the namespace netnsFd. */
export function addVeth(
  nl: Netlink,
  host: string,
  peer: string,
  netnsFd: number,
  mtu: number | null,
  what: string,
): void {
  const mtuAttr = mtu === null ? [] : [attr(IFLA.MTU, mtu)];
  const peerInfo = Buffer.concat([
    ifinfomsg(),
    attr(IFLA.IFNAME, peer),
    attr(IFLA.NET_NS_FD, netnsFd),
    ...mtuAttr,
  ]);
  const body = Buffer.concat([
    ifinfomsg(),
    attr(IFLA.IFNAME, host),
    ...mtuAttr,
    nested(
      IFLA.LINKINFO,
      attr(IFLA_INFO.KIND, "veth"),
      nested(IFLA_INFO.DATA, attr(VETH_INFO_PEER, peerInfo)),
    ),
  ]);
  nl.request(RTM.NEWLINK, CREATE, body, what);
}

/**
 * Brings a link up, optionally into a bridge and with an MTU (set on a
 * bridge this way, it stays when ports come and go).
 */
export function linkUp(
  nl: Netlink,
  index: number,
  master: number | null,
  what: string,
  mtu: number | null = null,
): void {
  const body = Buffer.concat([
    ifinfomsg({ index, flags: IFF_UP, change: IFF_UP }),
    ...(master === null ? [] : [attr(IFLA.MASTER, master)]),
    ...(mtu === null ? [] : [attr(IFLA.MTU, mtu)]),
  ]);
  nl.request(RTM.NEWLINK, 0, body, what);
}

/** Adds an address; with `existing` an address already there is no error. */
export function addAddress(
  nl: Netlink,
  index: number,
  family: Family,
  value: bigint,
  prefix: number,
  what: string,
  existing = false,
): void {
  const bytes = addressBytes(family, value);
  const body = Buffer.concat([
    ifaddrmsg(family, prefix, index),
    attr(IFA.LOCAL, bytes),
    attr(IFA.ADDRESS, bytes),
    // IPv6 duplicate address detection would hold the address back for a second or more.
    ...(family === 6 ? [attr(IFA.FLAGS, IFA_F_NODAD)] : []),
  ]);
  try {
    nl.request(RTM.NEWADDR, CREATE, body, what);
  } catch (e) {
    if (!(existing && e instanceof NetlinkError && e.errno === ERRNO.EEXIST)) throw e;
  }
}

export function addDefaultRoute(
  nl: Netlink,
  family: Family,
  gateway: bigint,
  index: number,
  what: string,
): void {
  const body = Buffer.concat([
    rtmsg(family, 0),
    attr(RTA.GATEWAY, addressBytes(family, gateway)),
    attr(RTA.OIF, index),
  ]);
  nl.request(RTM.NEWROUTE, CREATE, body, what);
}

/** Deletes a link by name; false when it was gone already. */
export function deleteLink(nl: Netlink, name: string, what: string): boolean {
  try {
    nl.request(RTM.DELLINK, 0, Buffer.concat([ifinfomsg(), attr(IFLA.IFNAME, name)]), what);
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === ERRNO.ENODEV) return false;
    throw e;
  }
}
