// Which controllers a change of the agents' flags turns off, and the one-off
// agent run that removes what they left in the kernel. Between scenario files
// with different `cluster.agentArgs` the lab restarts the agents; a controller
// that no longer runs would otherwise leave its routes, rules or IPVS services
// behind for the next file (routes of a routing file letting a later
// routing-off file reach pods across nodes). A controller that stays on is not
// cleaned: removing its previous state is its own job (and tested as such).

const RUN_FLAGS = ['run-router', 'run-service-proxy', 'run-firewall'] as const;
type RunFlag = (typeof RUN_FLAGS)[number];

/** The --run-* flags on (all default to true), read as the agent's parser does: the last one given wins. */
export function enabledRunFlags(args: readonly string[]): Set<RunFlag> {
  const on = new Set<RunFlag>(RUN_FLAGS);
  args.forEach((arg, i) => {
    for (const f of RUN_FLAGS) {
      let value: string | undefined;
      if (arg === `--${f}`) value = args[i + 1] === 'false' || args[i + 1] === 'true' ? args[i + 1] : 'true';
      else if (arg.startsWith(`--${f}=`)) value = arg.slice(f.length + 3);
      if (value === undefined) continue;
      if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(value)) on.delete(f);
      else on.add(f);
    }
  });
  return on;
}

/**
 * Extra arguments (after the new base flags) for a `--cleanup-config` run
 * that cleans exactly the controllers on under `before` and off under
 * `after`; undefined when none is turned off.
 */
export function cleanupArgsForTurnedOff(before: readonly string[], after: readonly string[]): string[] | undefined {
  const was = enabledRunFlags(before);
  const now = enabledRunFlags(after);
  const off = RUN_FLAGS.filter((f) => was.has(f) && !now.has(f));
  if (off.length === 0) return undefined;
  return [...RUN_FLAGS.map((f) => `--${f}=${off.includes(f)}`), '--cleanup-config'];
}
