// The layer tar reader on hand-made headers: which format's fields it reads.
import { expect, test } from "bun:test";
import { readLayer } from "../../hooks/unpack/layer-tar.ts";
import { tarEntry } from "../fixtures/images.ts";

/** One file entry's header with `edit` applied and its checksum made right again, then the end marker. */
function archive(edit: (h: Buffer) => void): Buffer {
  const h = tarEntry({ path: "f", body: "" });
  edit(h);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0`, 148, "latin1");
  return Buffer.concat([h, Buffer.alloc(1024)]);
}

async function paths(tar: Buffer): Promise<string[]> {
  const out: string[] = [];
  for await (const { entry } of readLayer(
    (async function* () {
      yield tar;
    })(),
  ))
    out.push(entry.path);
  return out;
}

test("a POSIX ustar header's prefix is the start of the name", async () => {
  expect(await paths(archive((h) => h.write("usr/share", 345, "latin1")))).toEqual(["usr/share/f"]);
});

test("a GNU header's atime and ctime, where ustar has its prefix, are no part of the name", async () => {
  const gnu = archive((h) => {
    h.write("ustar  \0", 257, "latin1");
    h.write("14621750200\0", 345, "latin1");
    h.write("14621750200\0", 357, "latin1");
  });
  expect(await paths(gnu)).toEqual(["f"]);
});
