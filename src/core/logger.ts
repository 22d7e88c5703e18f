import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one child logger per component. */
export function createLogger(level: LevelWithSilent = 'info', node?: string): Logger {
  return pino({
    level,
    // With several nodes, each line says which one wrote it.
    base: { service: 'carebell', ...(node ? { node } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

export const silentLogger: Logger = pino({ level: 'silent' });
