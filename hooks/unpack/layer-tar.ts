// A reader of image layer tarballs (ustar, GNU long names, pax), written
// for what node-tar's parser drops: pax records are parsed as bytes, so
// extended attributes (SCHILY.xattr.*, binary security.capability values
// included) survive, and device nodes and FIFOs come through as entries.

export type EntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface LayerEntry {
  readonly path: string;
  readonly type: EntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Seconds and nanoseconds since the epoch. */
  readonly mtime: readonly [number, number];
  readonly linkpath: string;
  readonly devmajor: number;
  readonly devminor: number;
  readonly xattrs: ReadonlyMap<string, Buffer>;
}

const TYPES: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** Magic and version of a POSIX ustar header (bytes 257 to 264). */
const POSIX_MAGIC = Buffer.from("ustar\x0000", "latin1");

/** Reads exactly the bytes asked for from an async stream of chunks. */
class Bytes {
  private chunks: Buffer[] = [];
  private have = 0;
  private readonly it: AsyncIterator<Buffer>;
  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }
  /** n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.have < n) {
      const { value, done } = await this.it.next();
      if (done) break;
      this.chunks.push(value);
      this.have += value.length;
    }
    const all = Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    return out;
  }
  /** Reads the stream to its end (the blocks after the end-of-archive marker count for its digest). */
  async drain(): Promise<void> {
    this.chunks = [];
    this.have = 0;
    for (let r = await this.it.next(); !r.done; r = await this.it.next());
  }
}

function cstring(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString("utf8");
}

/** An octal field, or GNU's base-256 for large values. */
function number(b: Buffer, what: string): number {
  if ((b[0] ?? 0) & 0x80) {
    let n = 0n;
    for (let i = 1; i < b.length; i++) n = (n << 8n) | BigInt(b[i] ?? 0);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`layer tar: ${what} is too large`);
    return Number(n);
  }
  const text = cstring(b).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`layer tar: ${what} ${JSON.stringify(text)} is not a number`);
  return Number.parseInt(text, 8);
}

/** pax records ("LEN key=value\n"), value bytes kept as they are. */
export function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let off = 0; off < body.length; ) {
    const space = body.indexOf(0x20, off);
    if (space < 0) break;
    const len = Number(body.subarray(off, space).toString("ascii"));
    if (!Number.isSafeInteger(len) || len <= space - off || off + len > body.length)
      throw new Error("layer tar: a pax record has a bad length");
    const record = body.subarray(space + 1, off + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new Error("layer tar: a pax record has no '='");
    out.set(record.subarray(0, eq).toString("utf8"), Buffer.from(record.subarray(eq + 1)));
    off += len;
  }
  return out;
}

function paxTime(v: Buffer): [number, number] {
  const [s = "0", frac = ""] = v.toString("ascii").split(".");
  return [Number(s), Number(`${frac}000000000`.slice(0, 9))];
}

/** The extended attributes pax records carry (SCHILY.xattr.NAME raw, LIBARCHIVE.xattr.NAME base64). */
function xattrsOf(pax: Map<string, Buffer>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of pax) {
    if (k.startsWith("SCHILY.xattr.")) out.set(k.slice("SCHILY.xattr.".length), v);
    else if (k.startsWith("LIBARCHIVE.xattr."))
      out.set(
        decodeURIComponent(k.slice("LIBARCHIVE.xattr.".length)),
        Buffer.from(v.toString("ascii"), "base64"),
      );
  }
  return out;
}

/**
 * The entries of a tar stream, in order; the stream is read to its end.
 * `body` is read before the next entry is asked for (what is left of it is
 * skipped).
 */
export async function* readLayer(
  source: AsyncIterable<Buffer>,
): AsyncGenerator<{ entry: LayerEntry; body: () => AsyncGenerator<Buffer>; skip: () => Promise<void> }> {
  const bytes = new Bytes(source);
  let global = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | null = null;
  let longLink: string | null = null;
  for (;;) {
    const h = await bytes.read(512);
    if (h.length === 0) return;
    if (h.length < 512) throw new Error("layer tar: the archive ends inside a header");
    if (h.every((b) => b === 0)) return await bytes.drain();
    const sum = number(h.subarray(148, 156), "checksum");
    let computed = 0;
    for (let i = 0; i < 512; i++) computed += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    if (sum !== computed) throw new Error("layer tar: a header's checksum is wrong");
    const typeflag = String.fromCharCode(h[156] ?? 0);
    const size = number(h.subarray(124, 136), "size");
    const padded = Math.ceil(size / 512) * 512;
    const readAll = async () => (await bytes.read(padded)).subarray(0, size);
    if (typeflag === "x" || typeflag === "g") {
      const records = parsePax(await readAll());
      if (typeflag === "g") global = new Map([...global, ...records]);
      else pax = records;
      continue;
    }
    if (typeflag === "L" || typeflag === "K") {
      const text = cstring(await readAll());
      if (typeflag === "L") longName = text;
      else longLink = text;
      continue;
    }
    const type = TYPES[typeflag];
    const all = new Map([...global, ...pax]);
    // Both POSIX ustar ("ustar\0" "00") and GNU ("ustar  \0") headers have device numbers; only
    // POSIX's has a name prefix at 345 (GNU keeps atime, ctime and more there).
    const ustar = h.subarray(257, 262).toString("ascii") === "ustar";
    const posix = h.subarray(257, 265).equals(POSIX_MAGIC);
    const prefix = posix ? cstring(h.subarray(345, 500)) : "";
    const name = cstring(h.subarray(0, 100));
    const path = all.get("path")?.toString("utf8") ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    const entrySize = all.has("size") ? Number(all.get("size")?.toString("ascii")) : size;
    const entry: LayerEntry = {
      path,
      type: type ?? "file",
      mode: number(h.subarray(100, 108), "mode") & 0o7777,
      uid: all.has("uid") ? Number(all.get("uid")?.toString("ascii")) : number(h.subarray(108, 116), "uid"),
      gid: all.has("gid") ? Number(all.get("gid")?.toString("ascii")) : number(h.subarray(116, 124), "gid"),
      size: entrySize,
      mtime: all.has("mtime")
        ? paxTime(all.get("mtime") as Buffer)
        : [number(h.subarray(136, 148), "mtime"), 0],
      linkpath: all.get("linkpath")?.toString("utf8") ?? longLink ?? cstring(h.subarray(157, 257)),
      devmajor: ustar ? number(h.subarray(329, 337), "devmajor") : 0,
      devminor: ustar ? number(h.subarray(337, 345), "devminor") : 0,
      xattrs: xattrsOf(all),
    };
    pax = new Map();
    longName = null;
    longLink = null;
    const bodyBytes = entry.type === "file" ? entry.size : 0;
    const bodyPadded = entry.type === "file" ? Math.ceil(bodyBytes / 512) * 512 : padded;
    let consumed = 0;
    const body = async function* () {
      while (consumed < bodyPadded) {
        const chunk = await bytes.read(Math.min(1 << 20, bodyPadded - consumed));
        if (chunk.length === 0) throw new Error(`layer tar: the archive ends inside ${path}`);
        const start = consumed;
        consumed += chunk.length;
        const useful = Math.max(0, Math.min(chunk.length, bodyBytes - start));
        if (useful > 0) yield chunk.subarray(0, useful);
      }
    };
    const skip = async () => {
      for await (const _ of body());
    };
    if (!type) {
      // An entry type a layer has no business with (say a GNU sparse file): refused, not guessed at.
      throw new Error(
        `layer tar: ${path} has entry type ${JSON.stringify(typeflag)}, which bunc does not unpack`,
      );
    }
    yield { entry, body, skip };
    await skip();
  }
}
