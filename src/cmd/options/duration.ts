// Go `time.Duration` syntax (what pflag's DurationVar accepts and prints),
// converted to and from milliseconds. No npm package parses exactly Go's
// grammar (`2h22m`, `1.5h`, `300ms`, `1h0m0s`, bare `0`), so it lives here.

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const COMPONENT = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/**
 * Parses a Go duration string into milliseconds (fractions of a millisecond
 * are kept). Returns undefined when the text is not a Go duration.
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let totalNs = 0;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (m === null) return undefined;
    const [whole, intPart, fracPart, unit] = m;
    // Go requires at least one digit on either side of the dot.
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return undefined;
    const scale = UNIT_NS[unit];
    if (scale === undefined) return undefined;
    const value = Number(`${intPart === '' ? '0' : intPart}.${fracPart ?? '0'}`);
    totalNs += value * scale;
    rest = rest.slice(whole.length);
  }
  // Go durations are int64 nanoseconds: about 292 years.
  if (totalNs > 9.223372036854775807e18) return undefined;
  return (sign * totalNs) / 1e6;
}

/** Formats milliseconds as Go's Duration.String() does: `5m0s`, `1m30s`, `300ms`, `0s`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let abs = Math.abs(ms);
  let out: string;
  if (abs < 1) {
    const us = abs * 1000;
    out = us < 1 ? `${trimFloat(us * 1000)}ns` : `${trimFloat(us)}µs`;
  } else if (abs < 1000) {
    out = `${trimFloat(abs)}ms`;
  } else {
    const h = Math.floor(abs / 3600000);
    abs -= h * 3600000;
    const m = Math.floor(abs / 60000);
    abs -= m * 60000;
    const s = `${trimFloat(abs / 1000)}s`;
    if (h > 0) out = `${h}h${m}m${s}`;
    else if (m > 0) out = `${m}m${s}`;
    else out = s;
  }
  return neg ? `-${out}` : out;
}

function trimFloat(n: number): string {
  // At most nanosecond precision, no trailing zeros (Go prints 1.5s, not 1.500s).
  return String(Number(n.toFixed(9)));
}
