import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupArgsForTurnedOff, enabledRunFlags } from '../../src/lab/guest/controllers-turned-off.js';

test('the --run-* flags default to on; the last one given wins, in both spellings', () => {
  assert.deepEqual([...enabledRunFlags([])].sort(), ['run-firewall', 'run-router', 'run-service-proxy']);
  assert.deepEqual([...enabledRunFlags(['--run-router=false', '--run-firewall', 'false'])].sort(), ['run-service-proxy']);
  assert.deepEqual([...enabledRunFlags(['--run-router=false', '--run-router=true'])].sort(), ['run-firewall', 'run-router', 'run-service-proxy']);
});

test('a controller turned off between files is cleaned, one that stays on or was off is not', () => {
  // A routing file, then a firewall-only file: the routes must go.
  assert.deepEqual(cleanupArgsForTurnedOff(['--run-service-proxy=false'], ['--run-router=false', '--run-service-proxy=false']), [
    '--run-router=true',
    '--run-service-proxy=false',
    '--run-firewall=false',
    '--cleanup-config',
  ]);
  // Overlay on -> off keeps routing on: removing stale tunnels is the agent's own job.
  assert.equal(cleanupArgsForTurnedOff(['--enable-overlay=true'], ['--enable-overlay=false']), undefined);
  assert.equal(cleanupArgsForTurnedOff(['--run-router=false'], []), undefined);
});
