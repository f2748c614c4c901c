// Parser for `ipset save` output, keeping only the selected sets. Lines of
// other sets are skipped with a prefix check, so a large foreign set costs
// a scan, not an allocation.

import { KubeRouterError } from '../../errors.js';
import { IPSET_TYPES, type IpsetFamily, type IpsetOptions, type IpsetSelector, type IpsetSet, type IpsetType } from './types.js';

export function selectorPredicate(select: IpsetSelector): (name: string) => boolean {
  const names = new Set(select.names ?? []);
  const prefixes = select.prefixes ?? [];
  const match = select.match;
  return (name) => names.has(name) || prefixes.some((p) => name.startsWith(p)) || (match !== undefined && match(name));
}

function parseCreate(line: string, lineNo: number): IpsetSet {
  const w = line.split(/\s+/);
  const name = w[1];
  const type = w[2] as IpsetType;
  if (!name || !IPSET_TYPES.includes(type)) {
    throw new KubeRouterError('KR_ERR_KERNEL', `ipset save line ${lineNo}: unsupported set "${line}"`, {
      call: 'ipset save',
      line: lineNo,
      value: line,
    });
  }
  let family: IpsetFamily = 'inet';
  const options: IpsetOptions = {};
  for (let i = 3; i < w.length; i++) {
    const k = w[i];
    const v = w[i + 1];
    switch (k) {
      case 'family':
        family = v === 'inet6' ? 'inet6' : 'inet';
        i++;
        break;
      case 'timeout':
      case 'maxelem':
      case 'hashsize':
      case 'size':
        options[k] = Number(v);
        i++;
        break;
      case 'bucketsize':
      case 'initval':
      case 'netmask':
      case 'markmask':
        i++; // ignored: not part of what we manage
        break;
      default:
        break; // flags (counters, comment, skbinfo, forceadd ...): ignored
    }
  }
  return { name, type, family, options, entries: new Set() };
}

/** The member text of an `add` line as we compare it: entry plus ` nomatch`, no timeout/counters. */
function entryOf(rest: string): string {
  const sp = rest.indexOf(' ');
  if (sp < 0) return rest;
  const entry = rest.slice(0, sp);
  return / nomatch(\s|$)/.test(rest.slice(sp)) ? `${entry} nomatch` : entry;
}

/** Parses `ipset save` text; sets not selected are skipped. */
export function parseIpsetSave(text: string, keep: (name: string) => boolean): Map<string, IpsetSet> {
  const out = new Map<string, IpsetSet>();
  let cur: IpsetSet | undefined;
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line.startsWith('add ')) {
      if (!cur) continue;
      // Fast path: `add <cur.name> ` prefix.
      const pre = 4 + cur.name.length;
      if (line.startsWith(cur.name, 4) && line.charCodeAt(pre) === 32) {
        cur.entries.add(entryOf(line.slice(pre + 1)));
      } else {
        const sp = line.indexOf(' ', 4);
        const set = out.get(line.slice(4, sp));
        if (set) set.entries.add(entryOf(line.slice(sp + 1)));
      }
    } else if (line.startsWith('create ')) {
      const name = line.slice(7, line.indexOf(' ', 7));
      if (keep(name)) {
        cur = parseCreate(line, lineNo);
        out.set(name, cur);
      } else {
        cur = undefined;
      }
    }
  }
  return out;
}
