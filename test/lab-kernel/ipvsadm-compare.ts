// Compares what LinuxIpvs decodes with what `ipvsadm -Ln` and
// `ipvsadm -Ln --stats` print for the same kernel state (run in the lab
// guest, where the kernel has IPVS). Returns a list of mismatches.

import { execFileSync } from 'node:child_process';
import { hostPort } from '../../src/kernel/rtnl/inet.js';
import { SvcFlag } from '../../src/kernel/ipvs/attrs.js';
import type { IpvsServiceWithDestinations } from '../../src/kernel/ipvs/types.js';

const FWD_WORD: Record<string, string> = { masq: 'Masq', local: 'Local', tunnel: 'Tunnel', route: 'Route', bypass: 'Bypass' };

interface Row {
  head: string; // `TCP 10.96.0.10:80`, `FWM 7`, `FWM 7 IPv6`, `-> 10.244.1.5:53`
  rest: string[];
}

function rows(text: string): Row[] {
  const out: Row[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/).filter(Boolean);
    if (t.length < 2) continue;
    if (t[0] === '->') {
      if (t[1] === 'RemoteAddress:Port') continue;
      out.push({ head: `-> ${t[1]}`, rest: t.slice(2) });
    } else if (t[0] === 'FWM') {
      const v6 = t[2] === 'IPv6';
      out.push({ head: `FWM ${t[1]}${v6 ? ' IPv6' : ''}`, rest: t.slice(v6 ? 3 : 2) });
    } else if (t[0] === 'TCP' || t[0] === 'UDP' || t[0] === 'SCTP') {
      out.push({ head: `${t[0]} ${t[1]}`, rest: t.slice(2) });
    }
  }
  return out;
}

/** `ipvsadm` prints large counters as 12345K / 12M; ours must match once scaled the same way. */
function largenum(n: number): string {
  if (n < 100000) return String(n);
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 100000 && u < units.length - 1) {
    v = Math.floor(v / 1000);
    u++;
  }
  return `${v}${units[u]}`;
}

function ourRows(state: IpvsServiceWithDestinations[], stats: boolean): Row[] {
  const out: Row[] = [];
  for (const { service: s, destinations } of state) {
    const head = s.fwmark ? `FWM ${s.fwmark}${s.af === 10 ? ' IPv6' : ''}` : `${s.protocol} ${hostPort(s.address, s.port)}`;
    if (stats) {
      const st = s.stats;
      out.push({ head, rest: [st.conns, st.inPkts, st.outPkts, st.inBytes, st.outBytes].map(largenum) });
    } else {
      const rest = [s.scheduler];
      if (s.flags & SvcFlag.PERSISTENT) rest.push('persistent', String(s.timeout));
      out.push({ head, rest });
    }
    for (const d of destinations) {
      const dh = `-> ${hostPort(d.address, d.port)}`;
      if (stats) {
        const st = d.stats;
        out.push({ head: dh, rest: [st.conns, st.inPkts, st.outPkts, st.inBytes, st.outBytes].map(largenum) });
      } else {
        out.push({ head: dh, rest: [FWD_WORD[d.fwdMethod], String(d.weight), String(d.activeConns), String(d.inactConns)] });
      }
    }
  }
  return out;
}

/** ipvsadm sorts differently from us: compare as sets of service blocks. */
function blocks(rs: Row[], pick: (r: Row) => string[]): Map<string, string> {
  const m = new Map<string, string>();
  let cur = '';
  let dests: string[] = [];
  const flush = (): void => {
    if (cur) m.set(cur.split('|')[0], `${cur} || ${[...dests].sort().join(' ; ')}`);
  };
  for (const r of rs) {
    if (r.head.startsWith('->')) {
      dests.push(`${r.head} ${pick(r).join(' ')}`);
    } else {
      flush();
      cur = `${r.head}|${pick(r).join(' ')}`;
      dests = [];
    }
  }
  flush();
  return m;
}

export function compareWithIpvsadm(state: IpvsServiceWithDestinations[], statsState: IpvsServiceWithDestinations[]): string[] {
  const problems: string[] = [];
  const plain = execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8' });
  const stats = execFileSync('ipvsadm', ['-Ln', '--stats'], { encoding: 'utf8' });
  // Plain: scheduler (first word) and persistence; destinations: all four columns.
  const pickPlain = (r: Row): string[] => (r.head.startsWith('->') ? r.rest : r.rest.filter((w, i) => i === 0 || w === 'persistent' || /^\d+$/.test(w) && r.rest[i - 1] === 'persistent'));
  const theirs = blocks(rows(plain), pickPlain);
  const ours = blocks(ourRows(state, false), (r) => r.rest);
  const theirsStats = blocks(rows(stats), (r) => r.rest);
  const oursStats = blocks(ourRows(statsState, true), (r) => r.rest);
  for (const [label, a, b] of [['ipvsadm -Ln', theirs, ours], ['ipvsadm -Ln --stats', theirsStats, oursStats]] as const) {
    if (a.size !== b.size) problems.push(`${label}: ${a.size} services vs ${b.size} decoded`);
    for (const [k, v] of a) {
      if (b.get(k) !== v) problems.push(`${label}: ${k}\n    ipvsadm: ${v}\n    decoded: ${b.get(k) ?? '(missing)'}`);
    }
  }
  return problems;
}
