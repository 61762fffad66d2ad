// The slice of a pino logger the CNI layer uses; callers pass pino or nothing.
export interface CniLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: CniLogger = { debug: () => {}, info: () => {}, warn: () => {} };
