import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one child logger per component. */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({
    level,
    base: { service: 'carebell' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

export const silentLogger: Logger = pino({ level: 'silent' });
