import pino, { type DestinationStream, type Logger } from 'pino';

/** Log levels accepted by `BERTH_LOG_LEVEL`. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link logLevels}. */
export type LogLevel = (typeof logLevels)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  /** The process's name in every line (`control-plane`, `agent`). */
  name: string;
  /** Where lines go; standard output when omitted. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

/**
 * Berth's structured JSON logger. Credentials are redacted by path as a second line of defence; the first is that
 * code never logs them.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Fastify logs each request with this; a WebSocket's token may ride in its query string (`?access_token=`).
      serializers: {
        req: (req: { method?: string; url?: string; hostname?: string; ip?: string }) => ({
          method: req.method,
          url: redactQueryCredentials(req.url),
          host: req.hostname,
          remoteAddress: req.ip,
        }),
      },
      redact: {
        paths: [
          'password',
          '*.password',
          'token',
          '*.token',
          'generatedPassword',
          '*.generatedPassword',
          'req.headers.authorization',
          'headers.authorization',
        ],
        censor: '****',
      },
    },
    options.destination,
  );
}

/** `url` with the value of every credential-carrying query parameter replaced by `****`. */
export function redactQueryCredentials(url: string | undefined): string | undefined {
  return url?.replace(/([?&](?:access_token|token)=)[^&#]*/gi, '$1****');
}

export type { Logger };
