// Warnings about flags given on the command line: deprecated flags, and flags
// whose feature kube-router-ts does not implement yet (the `built` column).
import { FLAGS } from './flags.js';

/** "accepted but not built yet" warnings, one per explicitly set flag whose row has built: false. */
export function notBuiltWarnings(explicit: ReadonlySet<string>): string[] {
  return FLAGS.filter((f) => explicit.has(f.name) && !f.built && f.deprecated === undefined).map(
    (f) => `flag --${f.name} is accepted but its feature is not built yet; it has no effect`,
  );
}

/** Deprecation warnings, one per explicitly set deprecated flag. */
export function deprecationWarnings(explicit: ReadonlySet<string>): string[] {
  return FLAGS.filter((f) => explicit.has(f.name) && f.deprecated !== undefined).map(
    (f) => `flag --${f.name} is ${f.deprecated}`,
  );
}

/** All warnings for a command line: deprecations first, then unbuilt features. */
export function flagWarnings(explicit: ReadonlySet<string>): string[] {
  return [...deprecationWarnings(explicit), ...notBuiltWarnings(explicit)];
}
