// Unpacking progress on a terminal: layers done and bytes read, with a bar,
// on one line of stderr; nothing when stderr is not a terminal.
import type { ImageLayer } from "./image.ts";

const WIDTH = 24;
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export class Progress {
  private readonly on = process.stderr.isTTY === true;
  private readonly total: number;
  private read = 0;
  private done_ = 0;
  private current: ImageLayer | null = null;
  private last = 0;

  constructor(
    private readonly layers: readonly ImageLayer[],
    private readonly missing: readonly ImageLayer[],
  ) {
    this.total = missing.reduce((n, l) => n + Math.max(0, l.size), 0);
  }

  add(layer: ImageLayer, bytes: number): void {
    if (this.current !== layer) {
      if (this.current) this.done_++;
      this.current = layer;
    }
    this.read += bytes;
    const now = performance.now();
    if (this.on && now - this.last > 100) {
      this.last = now;
      this.draw();
    }
  }

  private draw(): void {
    const share = this.total > 0 ? Math.min(1, this.read / this.total) : 0;
    const bar = "#".repeat(Math.round(share * WIDTH)).padEnd(WIDTH, ".");
    const layer = this.current?.digest.slice(7, 19) ?? "";
    process.stderr.write(
      `\runpacking layer ${this.done_ + 1}/${this.missing.length} ${layer} [${bar}] ${mib(this.read)}${this.total ? ` of ${mib(this.total)}` : ""}`,
    );
  }

  done(): void {
    if (this.on && this.missing.length) {
      this.done_ = this.missing.length - 1;
      this.draw();
      process.stderr.write(`\n${this.missing.length} of ${this.layers.length} layers unpacked\n`);
    }
  }
}
