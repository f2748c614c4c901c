// A small JSON-lines logger to a file (the pino-like (obj, msg) shape the lab
// components take), cheap to load in the guest.

import { createWriteStream, type WriteStream } from 'node:fs';

export interface FileLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const streams = new Map<string, WriteStream>();

export function fileLogger(path: string, debug = false): FileLogger {
  let s = streams.get(path);
  if (s === undefined) {
    s = createWriteStream(path, { flags: 'a' });
    // A log file that cannot be opened or written (its directory removed) must not crash the supervisor.
    s.on('error', (err) => process.stderr.write(`lab: log ${path}: ${err.message}\n`));
    streams.set(path, s);
  }
  const out = s;
  const write = (level: string) => (obj: object, msg?: string) => {
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...obj })}\n`);
  };
  return { debug: debug ? write('debug') : () => undefined, info: write('info'), warn: write('warn'), error: write('error') };
}
