import { describe, expect, it } from '@jest/globals';
import { codeDrift, environmentsDigestCommand, parseEnvironmentDigests } from '../../../src/puppet/code-drift.js';

describe('code drift', () => {
  it('lists the environments that differ or exist on one side only', () => {
    const primary = parseEnvironmentDigests('env.production=aaa\nenv.dev=bbb\nnoise\n');
    const replica = parseEnvironmentDigests('env.production=aaa\nenv.test=ccc\n');
    expect(codeDrift(primary, replica)).toEqual([
      { environment: 'dev', primary: 'bbb', replica: null },
      { environment: 'test', primary: null, replica: 'ccc' },
    ]);
    expect(codeDrift(primary, primary)).toEqual([]);
  });

  it('digests under the quoted codedir and says nothing when there are no environments', () => {
    expect(environmentsDigestCommand("/etc/pup'pet/code")).toContain(
      `cd '/etc/pup'\\''pet/code/environments' 2>/dev/null || exit 0`,
    );
  });
});
