/**
 * The DR drill (issue 10, item 9) on the shared oss lab, as an operator runs it: a switchover
 * refused without --yes, then examples/runbooks/dr-drill.mjs (issue 11), which cuts the primary's
 * power, fails over (an agent runs on the replica, a new agent gets its certificate from the
 * promoted CA), boots the old primary (it fences itself by epoch and compiles for nobody), fails
 * back (a rebuild the other way, then the switchover plan's own steps with RPO 0 verified), and
 * checks that what the outage produced is on the original primary (the new agent's certificate,
 * its exported resource collected). A separate switchover there and back is not in the suite (CI
 * time): failback runs its steps. Runs last in the workflows group
 * (test/helpers/lab-test-sequencer.mjs): it starts from the healthy pair setup left.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ensureLab, labSh, TEST_LAB_DIR } from '../../helpers/lab.js';
import { DR_DRILL, ensureWarmSpare, runCli, runNode } from '../../helpers/run-cli.js';

let inventory = '';
const sh = labSh;

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  // Alone (not after setup.test.ts), the drill makes its own warm spare first.
  await ensureWarmSpare(inventory);
}, 1_500_000);

describe('the DR drill on the oss lab', () => {
  it('switchover refuses without a terminal and without --yes, naming the flag, before any change', async () => {
    const run = await runCli(['plan', 'run', 'switchover', '-i', inventory]);
    expect(run.code).toBe(1);
    // The plan's summary (stdout) names the flag; the progress (stderr) shows it stopped at confirm.
    expect(run.stdout).toMatch(/failed at step "confirm": .*stdin is not a terminal; pass --yes instead/);
    expect(run.stderr).toMatch(/== step confirm: FAILED/);
    // Nothing changed: the drill that follows starts by checking the pair healthy, primary active.
    const begun = [...run.stderr.matchAll(/^== step \d+\/\d+: (\S+)/gm)].map((m) => m[1]);
    expect(begun).toEqual(['check', 'confirm']);
  }, 600_000);

  it('dr-drill.mjs: failover on a power cut, the old primary fenced by epoch, failback with nothing lost', async () => {
    const epochBefore = Number((await sh('primary', "sed -n 's/^epoch=//p' /etc/pef/epoch")).stdout.trim());
    const drill = await runNode([DR_DRILL, '--lab-dir', TEST_LAB_DIR, '--skip-setup', '--json']);
    // Its stderr is the drill's own report: the whole of it when it failed.
    if (drill.code !== 0) throw new Error(`dr-drill.mjs exited ${drill.code}:\n${drill.stderr.slice(-6000)}`);
    const checks = drill.stderr.split('\n').filter((l) => l.startsWith('dr-drill: check '));
    expect(checks.filter((l) => !l.endsWith(': ok'))).toEqual([]);
    for (const what of [
      'failover',
      'an agent run compiled by replica.lab',
      "replica.lab's CA signs a new agent",
      'primary.lab fenced itself',
      'an agent listing only primary.lab gets no catalog from it',
      'failback',
      'an agent run compiled by primary.lab again',
      "'s certificate, signed during the outage, is in primary.lab's CA",
      "'s exported resource is collected on primary.lab",
      'primary.lab active again, the pair healthy',
    ])
      expect(checks.some((l) => l.includes(what) && l.endsWith(': ok'))).toBe(true);
    expect(drill.stderr).toMatch(/RTO \d+\.\d s \(failover to the first agent run on replica\.lab\)/);
    expect((await sh('primary', 'cat /var/log/pef-replication.log')).stdout).toMatch(
      /PEF: fence \[WARNING\] the peer is active with epoch \d+, newer than this server's \d+/,
    );
    // The drill's last check was the status: healthy, primary.lab active again.
    // Two promotions (the failover, the failback's switchover), each past both servers.
    expect(Number((await sh('primary', "sed -n 's/^epoch=//p' /etc/pef/epoch")).stdout.trim())).toBe(epochBefore + 2);
    // The CA service follows the roles, each switch a restart of a running server (the failover's
    // promote switched it on on the replica; the failback's demote off again).
    const caAnswer = (host: string) =>
      sh(host, `curl -sk -o /dev/null -w '%{http_code}' https://${host}.lab:8140/puppet-ca/v1/certificate/ca`);
    expect((await caAnswer('primary')).stdout).toBe('200');
    expect((await caAnswer('replica')).stdout).toBe('404');
    expect((await sh('replica', 'puppet config print server --section agent')).stdout.trim()).toBe('primary.lab');
    expect((await sh('agent1', 'puppet config print server_list --section agent')).stdout).toMatch(
      /^primary\.lab(:8140)?,replica\.lab/,
    );
  }, 2_400_000);
});
