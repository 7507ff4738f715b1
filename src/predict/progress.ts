/** A one-line progress bar on a TTY stream (nothing elsewhere, so logs and pipes stay clean). */
export class Progress {
  private done = 0;
  private images = 0;
  private lastDraw = 0;
  private readonly start = performance.now();

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = stream.isTTY === true,
  ) {}

  /** Counts one finished input of `images` images. */
  tick(images: number): void {
    this.done++;
    this.images += images;
    const now = performance.now();
    // Redraw at most ten times a second, and on the last input.
    if (!this.enabled || (now - this.lastDraw < 100 && this.done < this.total)) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((width * this.done) / Math.max(1, this.total));
    const rate = this.images / Math.max(1e-9, (now - this.start) / 1000);
    this.stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} inputs, ${rate.toFixed(1)} images/s`,
    );
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.enabled && this.done > 0) this.stream.write('\n');
  }
}
