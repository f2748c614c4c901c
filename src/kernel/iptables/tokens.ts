// iptables-restore's quoting: split a rule into arguments (double quotes group
// words, as iptables-restore does) and join them back, quoting when needed.

export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  let have = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && inQuote && text[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') {
      inQuote = !inQuote;
      have = true;
    } else if (!inQuote && (c === ' ' || c === '\t')) {
      if (have) out.push(cur);
      cur = '';
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push(cur);
  return out;
}

export function quoteArg(a: string): string {
  return a === '' || /[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a;
}

export function joinArgs(args: readonly string[]): string {
  return args.map(quoteArg).join(' ');
}

/** Text that splitting and joining leaves as it is: no quote, tab or backslash, single spaces, none at the ends. */
const CANONICAL = /^[^\s"\\]+(?: [^\s"\\]+)*$/;

/** Whitespace-normalised rule text (the form we hash). */
export function canonicalRuleText(rule: string): string {
  // Most rules (ours all, unless they carry a quoted comment) are canonical already.
  return CANONICAL.test(rule) ? rule : joinArgs(splitArgs(rule));
}
