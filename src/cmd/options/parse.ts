// Command-line parser over the flag table with pflag's syntax:
//   --flag=value  --flag value  --bool  --bool=false  -v 3  -v=3  -v3  -hV  --
// There is no JavaScript library with pflag's exact grammar (bools that never
// take the next argument, Go durations and uints, CSV lists that append when
// repeated), so this small parser is hand-written over the declarative table.
import { FlagError } from '../../errors.js';
import type { FlagSpec } from './flag-spec.js';
import { DEFAULT_CLUSTER_ASN, FLAGS, flagByName, flagByShort } from './flags.js';
import type { AgentOptions } from './types.js';
import { validateOptions } from './validate.js';
import { convertValue, parseGoBool, type FlagValue } from './values.js';
import { flagWarnings } from './warnings.js';

export interface ParsedFlags {
  options: AgentOptions;
  /** Long names of the flags given on the command line (e.g. `enable-bfd`). */
  explicit: ReadonlySet<string>;
  /** Deprecation and "not built yet" warnings, one per flag; log each once. */
  warnings: string[];
}

/** A flag kube-router does not register. */
export class UnknownFlagError extends FlagError {
  constructor(flag: string, value?: string) {
    super(flag, value ?? '', 'a flag that kube-router registers (see --help)');
    this.message =
      `unknown flag: ${flag}` + (value === undefined ? '' : ` (value "${value}")`) +
      ': expected one of the flags listed by --help';
  }
}

/** A positional argument; kube-router v2.11 rejects them. */
export class StrayArgumentError extends FlagError {
  /** `afterBool`: the bool flag just before, when the argument looks like its value (`--run-router false`). */
  constructor(arg: string, afterBool?: string) {
    super(afterBool ?? '(argument)', arg, 'flags only');
    this.message =
      afterBool === undefined
        ? `unexpected argument "${arg}": kube-router takes flags only (--flag=value or --flag value)`
        : `unexpected argument "${arg}" after bool flag ${afterBool}: a bool flag takes its value as ${afterBool}=${arg}`;
  }
}

/** The options with every flag at its default. */
export function defaultOptions(): AgentOptions {
  const out: Record<string, FlagValue> = {};
  for (const spec of FLAGS) {
    const d = spec.default;
    out[spec.key] = Array.isArray(d) ? [...d] : (d as FlagValue);
  }
  out.clusterAsn = DEFAULT_CLUSTER_ASN;
  // The table has one row per AgentOptions field (checked by the unit tests).
  return out as unknown as AgentOptions;
}

function needsValue(spec: FlagSpec, flag: string): never {
  throw new FlagError(flag, '', `a value (the flag needs an argument, e.g. ${flag}=${exampleValue(spec)})`);
}

function exampleValue(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'duration':
      return '5m';
    case 'uint':
    case 'uintList':
      return String(spec.default === 0 || Array.isArray(spec.default) ? 1 : spec.default);
    case 'cidrList':
      return '10.96.0.0/12';
    case 'ipList':
      return '192.0.2.1';
    default:
      return 'VALUE';
  }
}

/**
 * True when `arg` looks like the next flag rather than a value. pflag would
 * take it as the value (`--master --kubeconfig=x` sets master); reporting the
 * missing value instead catches the mistake.
 */
function isFlagLike(arg: string | undefined): boolean {
  return arg !== undefined && arg.startsWith('--') && arg.length > 2;
}

/**
 * Parses argv (without node and the script). Throws FlagError (exit status 2)
 * on the first bad flag, value or combination.
 */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const values = new Map<string, FlagValue>();
  const set = (spec: FlagSpec, raw: string): void => {
    values.set(spec.name, convertValue(spec, raw, values.get(spec.name)));
  };

  let lastBareBool: string | undefined; // `--bool` given without `=value` just before
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const afterBool = lastBareBool;
    lastBareBool = undefined;
    if (arg === '--') {
      if (i + 1 < argv.length) throw new StrayArgumentError(argv[i + 1]);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      const spec = flagByName(name);
      if (spec === undefined) throw new UnknownFlagError(`--${name}`, inline);
      if (inline !== undefined) set(spec, inline);
      else if (spec.kind === 'bool') {
        set(spec, 'true');
        lastBareBool = `--${name}`;
      } else if (i + 1 >= argv.length || isFlagLike(argv[i + 1])) needsValue(spec, `--${name}`);
      else set(spec, argv[++i]);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const shorts = arg.slice(1);
      for (let j = 0; j < shorts.length; j++) {
        const spec = flagByShort(shorts[j]);
        if (spec === undefined) throw new UnknownFlagError(`-${shorts[j]}`);
        const rest = shorts.slice(j + 1);
        if (spec.kind === 'bool') {
          if (rest.startsWith('=')) {
            set(spec, rest.slice(1));
            break;
          }
          set(spec, 'true');
          continue;
        }
        if (rest.startsWith('=')) set(spec, rest.slice(1));
        else if (rest !== '') set(spec, rest);
        else if (i + 1 >= argv.length || isFlagLike(argv[i + 1])) needsValue(spec, `-${shorts[j]}`);
        else set(spec, argv[++i]);
        break;
      }
      continue;
    }
    throw new StrayArgumentError(arg, afterBool !== undefined && parseGoBool(arg) !== undefined ? afterBool : undefined);
  }

  const options = defaultOptions();
  const record = options as unknown as Record<string, FlagValue>; // keyed by the table's `key` column
  for (const [name, value] of values) {
    const spec = flagByName(name) as FlagSpec;
    record[spec.key] = value;
  }
  // --cluster-asn 0 (the default) means 64512, as in kube-router.
  if (options.clusterAsn === 0) options.clusterAsn = DEFAULT_CLUSTER_ASN;

  const explicit = new Set(values.keys());
  // --help and --version print and exit; the rest of the command line is not checked.
  if (!options.help && !options.version) validateOptions(options, explicit);
  return { options, explicit, warnings: flagWarnings(explicit) };
}
