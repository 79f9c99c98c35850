// IPv4 and IPv6 addresses and CIDR blocks, as numbers: parsing, the nth
// address of a block, and the bytes netlink wants.
export type Family = 4 | 6;

export interface Cidr {
  readonly family: Family;
  /** The block's first address (host bits cleared). */
  readonly base: bigint;
  readonly prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;

function parseV4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255))
    return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

function parseV6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split("::").length > 2) return null;
  const [head = "", tail] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  let left = groups(head);
  let right = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 address is the last two groups.
  const last = (tail === undefined ? left : right).at(-1);
  if (last?.includes(".")) {
    const v4 = parseV4(last);
    if (v4 === null) return null;
    const pair = [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    if (tail === undefined) left = [...left.slice(0, -1), ...pair];
    else right = [...right.slice(0, -1), ...pair];
  }
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...Array(tail === undefined ? 0 : missing).fill("0"), ...right];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return all.reduce((n, g) => (n << 16n) | BigInt(`0x${g}`), 0n);
}

export function parseAddress(text: string): { family: Family; value: bigint } | null {
  const v4 = parseV4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = text.includes(":") ? parseV6(text) : null;
  return v6 === null ? null : { family: 6, value: v6 };
}

export function parseCidr(text: string): Cidr | null {
  const [addr = "", prefixText, more] = text.split("/");
  if (more !== undefined || prefixText === undefined || !/^\d{1,3}$/.test(prefixText)) return null;
  const a = parseAddress(addr);
  const prefix = Number(prefixText);
  if (!a || prefix > BITS[a.family]) return null;
  return { family: a.family, base: a.value & ~hostMask(a.family, prefix), prefix };
}

const hostMask = (family: Family, prefix: number) => (1n << BigInt(BITS[family] - prefix)) - 1n;

/** How many addresses the block holds. */
export const blockSize = (c: Cidr) => 1n << BigInt(BITS[c.family] - c.prefix);

export const contains = (c: Cidr, family: Family, value: bigint) =>
  family === c.family && (value & ~hostMask(c.family, c.prefix)) === c.base;

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) =>
    ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  );
  // The longest run of zero groups (two or more) becomes "::".
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > (best[1] ?? 0) && j - i > 1) best = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const [at = -1, len = 0] = best;
  if (at < 0) return groups.join(":");
  return `${groups.slice(0, at).join(":")}::${groups.slice(at + len).join(":")}`;
}

export const formatCidr = (c: Cidr) => `${formatAddress(c.family, c.base)}/${c.prefix}`;

/** The address in network byte order. */
export function addressBytes(family: Family, value: bigint): Uint8Array {
  const n = BITS[family] / 8;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Number((value >> BigInt(8 * (n - 1 - i))) & 255n);
  return out;
}
