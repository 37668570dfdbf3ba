/**
 * "Download / copy image with heatmap": the viewport's canvas as rendered (the radiograph and the
 * native heatmap layer; see cornerstoneHeatmap.ts), with a caption strip below it that says what
 * the picture is and is not. Everything stays in the browser: a blob URL for the download, the
 * Clipboard API for the copy.
 */
import { t } from '../i18n/translate';
const LINE_HEIGHT = 18;
const PADDING = 8;
const FONT = '13px sans-serif';

/** Breaks `text` into lines no wider than `width` as `measure` reports them (a word longer stays whole). */
export function wrapText(text: string, width: number, measure: (text: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && measure(candidate) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Draws `source` with the `caption` paragraphs, wrapped to its width, under it and returns the PNG. */
export async function captionedPng(source: HTMLCanvasElement, caption: readonly string[]): Promise<Blob> {
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d');
  if (!context) throw new Error(t('capture.noCanvas'));
  context.font = FONT;
  const lines = caption.flatMap(paragraph => wrapText(paragraph, source.width - 2 * PADDING, text => context.measureText(text).width));
  canvas.width = source.width;
  canvas.height = source.height + PADDING * 2 + LINE_HEIGHT * lines.length;
  // Resizing the canvas reset the context's state.
  context.fillStyle = '#000';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(source, 0, 0);
  context.fillStyle = '#fff';
  context.font = FONT;
  context.textBaseline = 'top';
  lines.forEach((line, i) => context.fillText(line, PADDING, source.height + PADDING + i * LINE_HEIGHT));
  return new Promise((resolve, reject) =>
    canvas.toBlob(blob => (blob ? resolve(blob) : reject(new Error(t('capture.noPng')))), 'image/png'),
  );
}

export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The click has started the download; the URL is not needed after this task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export async function copyBlob(blob: Blob): Promise<void> {
  const clipboard = navigator.clipboard as (Clipboard & { write?: (items: ClipboardItem[]) => Promise<void> }) | undefined;
  if (!clipboard?.write || typeof ClipboardItem === 'undefined') {
    throw new Error(t('capture.noClipboard'));
  }
  await clipboard.write([new ClipboardItem({ 'image/png': blob })]);
}
