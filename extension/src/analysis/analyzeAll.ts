/**
 * "Analyze all images": the study's CR/DX images scored one after the other, with progress, and
 * a cancel that stops after the image under way. One at a time, so the reader's own Analyze is
 * never starved and the inference worker holds one tensor at a time.
 */
import type { BatchState, StudyImage } from './types';

export class AnalyzeAll {
  private run: { cancelled: boolean } | null = null;
  private last: BatchState | null = null;

  /** `report` receives where the run stands after every image. */
  constructor(private readonly report: (batch: BatchState) => void) {}

  get running(): boolean {
    return this.run !== null;
  }

  /** Scores `images` in order with `analyze` (which skips those already scored); resolves when done or cancelled. */
  async over(images: readonly StudyImage[], analyze: (image: StudyImage) => Promise<void>): Promise<void> {
    if (this.run) return;
    const run = { cancelled: false };
    this.run = run;
    let done = 0;
    const report = (running: boolean) => this.set({ running, done, total: images.length, cancelled: run.cancelled });
    report(true);
    try {
      for (const image of images) {
        if (run.cancelled) break;
        await analyze(image);
        done++;
        report(true);
      }
    } finally {
      this.run = null;
      report(false);
    }
  }

  /** Stops after the image being analyzed; finished results are kept. */
  cancel(): void {
    if (!this.run || this.run.cancelled) return;
    this.run.cancelled = true;
    if (this.last) this.set({ ...this.last, cancelled: true });
  }

  private set(batch: BatchState): void {
    this.last = batch;
    this.report(batch);
  }
}
