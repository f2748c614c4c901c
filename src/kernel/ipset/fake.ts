// An in-memory kernel for ipset: interprets `ipset restore` scripts with the
// kernel's semantics (not transactional: lines before a failing one stay
// applied), the kernel's error messages, references that block `destroy`,
// and prints `ipset save` text (sets and members sorted).

import { normalizeEntry } from './entry.js';
import { IpsetRestoreError } from './errors.js';
import { IpsetReconciler } from './reconciler.js';
import { IPSET_TYPES, type Ipset, type IpsetDriver, type IpsetFamily, type IpsetOptions, type IpsetType } from './types.js';

interface FakeSet {
  type: IpsetType;
  family: IpsetFamily;
  options: IpsetOptions;
  /** key (entry without flags) -> entry text as saved (with ` nomatch`). Insertion order kept for list:set. */
  members: Map<string, string>;
}

class LineError extends Error {}

const keyOf = (entry: string): string => (entry.endsWith(' nomatch') ? entry.slice(0, -8) : entry);

export class FakeIpsetKernel implements IpsetDriver {
  private readonly sets = new Map<string, FakeSet>();
  /** External references (iptables rules) per set name. */
  private readonly refs = new Map<string, number>();
  /** Another fake (iptables) telling whether its rules reference a set. */
  private referencedElsewhere: (name: string) => boolean = () => false;
  /** Every script run, for tests counting kernel mutations. */
  readonly restores: string[] = [];
  saves = 0;

  // ---- test API -----------------------------------------------------------

  /** Simulates an iptables rule referencing the set (destroy then fails "in use"). */
  reference(name: string): void {
    this.refs.set(name, (this.refs.get(name) ?? 0) + 1);
  }

  unreference(name: string): void {
    const n = (this.refs.get(name) ?? 0) - 1;
    if (n > 0) this.refs.set(name, n);
    else this.refs.delete(name);
  }

  /** Links a fake iptables: its `--match-set` rules then block `destroy` like the kernel's references. */
  setReferenceCheck(fn: (name: string) => boolean): void {
    this.referencedElsewhere = fn;
  }

  names(): string[] {
    return [...this.sets.keys()].sort();
  }

  /** Members (sorted; list:set in order), or undefined when the set does not exist. */
  members(name: string): string[] | undefined {
    const s = this.sets.get(name);
    if (!s) return undefined;
    const m = [...s.members.values()];
    return s.type === 'list:set' ? m : m.sort();
  }

  /** Like `ipset test`: is the exact element (with its flag) in the set. */
  test(name: string, entry: string): boolean {
    const s = this.sets.get(name);
    if (!s) return false;
    const e = normalizeEntry(name, s.type, s.family, entry);
    return s.members.get(keyOf(e)) === e;
  }

  // ---- IpsetDriver --------------------------------------------------------

  async save(): Promise<string> {
    this.saves++;
    const out: string[] = [];
    for (const name of this.names()) {
      const s = this.sets.get(name) as FakeSet;
      out.push(`create ${name} ${this.createText(s)}`);
      for (const e of this.members(name) as string[]) {
        const nomatch = e.endsWith(' nomatch');
        const base = nomatch ? keyOf(e) : e;
        out.push(`add ${name} ${base}${s.options.timeout !== undefined ? ' timeout 0' : ''}${nomatch ? ' nomatch' : ''}`);
      }
    }
    return out.length ? out.join('\n') + '\n' : '';
  }

  async restore(script: string): Promise<void> {
    this.restores.push(script);
    const lines = script.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
      try {
        this.exec(line.split(/\s+/));
      } catch (err) {
        if (!(err instanceof LineError)) throw err;
        throw new IpsetRestoreError('ipset restore', `ipset v7.17: Error in line ${i + 1}: ${err.message}\n`, lines);
      }
    }
  }

  // ---- interpreter --------------------------------------------------------

  private createText(s: FakeSet): string {
    if (s.type === 'list:set') return `list:set size ${s.options.size ?? 8}`;
    const o = s.options;
    const t = o.timeout !== undefined ? ` timeout ${o.timeout}` : '';
    return `${s.type} family ${s.family} hashsize ${o.hashsize ?? 1024} maxelem ${o.maxelem ?? 65536}${t} bucketsize 12 initval 0x00000000`;
  }

  private get(name: string | undefined): FakeSet {
    const s = name === undefined ? undefined : this.sets.get(name);
    if (!s) throw new LineError('The set with the given name does not exist');
    return s;
  }

  private inUse(name: string): boolean {
    if ((this.refs.get(name) ?? 0) > 0 || this.referencedElsewhere(name)) return true;
    for (const s of this.sets.values()) if (s.type === 'list:set' && s.members.has(name)) return true;
    return false;
  }

  private entry(name: string, s: FakeSet, words: string[]): string {
    try {
      return normalizeEntry(name, s.type, s.family, words.join(' '));
    } catch (err) {
      throw new LineError(`Syntax error: ${(err as Error).message}`);
    }
  }

  private exec(w: string[]): void {
    const [cmd, name] = w;
    switch (cmd) {
      case 'create':
      case 'n':
        return this.create(w);
      case 'add':
      case 'a': {
        const s = this.get(name);
        const e = this.entry(name, s, w.slice(2));
        const k = keyOf(e);
        if (s.members.has(k)) throw new LineError("Element cannot be added to the set: it's already added");
        if (s.type === 'list:set' && !this.sets.has(k)) throw new LineError('Set to be added/deleted/tested as element does not exist.');
        if (s.members.size >= (s.type === 'list:set' ? (s.options.size ?? 8) : (s.options.maxelem ?? 65536))) {
          throw new LineError('Hash is full, cannot add more elements');
        }
        s.members.set(k, e);
        return;
      }
      case 'del':
      case 'd': {
        const s = this.get(name);
        const k = keyOf(this.entry(name, s, w.slice(2)));
        if (!s.members.delete(k)) throw new LineError("Element cannot be deleted from the set: it's not added");
        return;
      }
      case 'flush':
      case 'F':
        if (name === undefined) for (const s of this.sets.values()) s.members.clear();
        else this.get(name).members.clear();
        return;
      case 'destroy':
      case 'x':
      case 'X':
        return this.destroy(name);
      case 'swap':
      case 'w': {
        const a = this.get(name);
        const b = this.get(w[2]);
        if (a.type !== b.type || a.family !== b.family) throw new LineError('The sets cannot be swapped: their type does not match');
        this.sets.set(name, b);
        this.sets.set(w[2], a);
        return;
      }
      default:
        throw new LineError(`Syntax error: unknown command ${cmd}`);
    }
  }

  private create(w: string[]): void {
    const name = w[1];
    const type = w[2] as IpsetType;
    if (!name || name.length > 31) throw new LineError('Syntax error: setname is longer than 31 characters');
    if (!IPSET_TYPES.includes(type)) throw new LineError(`Syntax error: Unknown settype ${type}`);
    const options: IpsetOptions = {};
    let family: IpsetFamily = 'inet';
    let exist = false;
    for (let i = 3; i < w.length; i++) {
      const k = w[i];
      if (k === '-exist') exist = true;
      else if (k === 'family') family = w[++i] === 'inet6' ? 'inet6' : 'inet';
      else if (k === 'timeout' || k === 'maxelem' || k === 'hashsize' || k === 'size') options[k] = Number(w[++i]);
      else throw new LineError(`Syntax error: Unknown argument: \`${k}'`);
    }
    const old = this.sets.get(name);
    if (old) {
      const same =
        exist &&
        old.type === type &&
        old.family === family &&
        old.options.timeout === options.timeout &&
        (options.maxelem === undefined || options.maxelem === (old.options.maxelem ?? 65536));
      if (same) return;
      throw new LineError('Set cannot be created: set with the same name already exists');
    }
    this.sets.set(name, { type, family, options, members: new Map() });
  }

  private destroy(name: string | undefined): void {
    const names = name === undefined ? [...this.sets.keys()] : [name];
    for (const n of names) {
      this.get(n);
      if (this.inUse(n)) throw new LineError('Set cannot be destroyed: it is in use by a kernel component');
    }
    for (const n of names) this.sets.delete(n);
  }
}

/** The Ipset API over a fresh fake kernel (the kernel is returned for inspection). */
export function createFakeIpset(kernel = new FakeIpsetKernel()): { ipset: Ipset; kernel: FakeIpsetKernel } {
  return { ipset: new IpsetReconciler(kernel), kernel };
}

// Compile-time conformance checks: both drivers satisfy the same interface.
const _fakeDriver: IpsetDriver = new FakeIpsetKernel();
const _fakeIpset: Ipset = new IpsetReconciler(_fakeDriver);
void _fakeIpset;
