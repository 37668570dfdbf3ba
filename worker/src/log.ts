/**
 * Structured logs: one JSON object per line on stdout, one line per event (started, polled,
 * scored, stored, skipped, failed, dead-lettered, stopped...), so a service manager's journal or a
 * log shipper can filter on `event` without parsing prose. Durations are in milliseconds.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

export function jsonLogger(write: (line: string) => void = line => process.stdout.write(line), now: () => Date = () => new Date()): Logger {
  return {
    log(level, event, fields = {}) {
      write(`${JSON.stringify({ ts: now().toISOString(), level, event, ...fields })}\n`);
    },
  };
}

/** Milliseconds rounded to 0.1: enough for a log line, and stable to read. */
export function ms(value: number): number {
  return Math.round(value * 10) / 10;
}
