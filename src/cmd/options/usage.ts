// --help text: every flag with its type, usage and default, grouped by
// controller, in pflag's layout (`  -v, --v string   usage (default "0")`).
import { GROUP_TITLES, type FlagGroup, type FlagSpec } from './flag-spec.js';
import { FLAGS } from './flags.js';
import { defaultText } from './values.js';

const KIND_TYPE_NAMES: Readonly<Record<FlagSpec['kind'], string>> = {
  bool: '',
  string: 'string',
  uint: 'uint',
  duration: 'duration',
  stringList: 'strings',
  uintList: 'uints',
  ipList: 'ipSlice',
  cidrList: 'strings',
};

function typeName(spec: FlagSpec): string {
  if (spec.typeName !== undefined) return spec.typeName;
  if (spec.kind === 'uint' && spec.bits !== undefined && spec.bits !== 64) return `uint${spec.bits}`;
  return KIND_TYPE_NAMES[spec.kind];
}

function leftColumn(spec: FlagSpec): string {
  const names = spec.short !== undefined ? `  -${spec.short}, --${spec.name}` : `      --${spec.name}`;
  const type = typeName(spec);
  return type === '' ? names : `${names} ${type}`;
}

function rightColumn(spec: FlagSpec): string {
  let text = spec.usage;
  if (spec.name !== 'help' && spec.name !== 'version') text += ` (default ${defaultText(spec)})`;
  if (spec.deprecated !== undefined) text += ` [${spec.deprecated}]`;
  else if (!spec.built) text += ' [not built yet]';
  return text;
}

/** The full --help text. */
export function usageText(program = 'kube-router'): string {
  const width = Math.max(...FLAGS.map((f) => leftColumn(f).length)) + 3;
  const lines = [`Usage of ${program}:`];
  for (const group of Object.keys(GROUP_TITLES) as FlagGroup[]) {
    const specs = FLAGS.filter((f) => f.group === group).sort((a, b) => a.name.localeCompare(b.name));
    if (specs.length === 0) continue;
    lines.push('', `${GROUP_TITLES[group]}:`);
    for (const spec of specs) lines.push(leftColumn(spec).padEnd(width) + rightColumn(spec));
  }
  return `${lines.join('\n')}\n`;
}
