import { configError, load, MINIMAL } from './helpers';

const withPolicies = (yaml: string): string => `${MINIMAL}policies:\n${yaml}`;

const ISSUE_EXAMPLE = `  - repositories: ["prod/**"]
    immutabletags: ["v*", "release-*"]
    retention: {keeplast: 10, keeptags: ["latest", "stable"], pushedwithin: 720h, untaggedolderthan: 24h}
    quota: 50GiB
  - repositories: ["scratch/*"]
    quota: 1000
`;

describe('policies', () => {
  it('loads the rules with durations in milliseconds and quotas in bytes', () => {
    expect(load(withPolicies(ISSUE_EXAMPLE)).policies).toEqual([
      {
        repositories: ['prod/**'],
        immutabletags: ['v*', 'release-*'],
        retention: { keeplast: 10, keeptags: ['latest', 'stable'], pushedwithin: 720 * 3_600_000, untaggedolderthan: 24 * 3_600_000 },
        quota: 50 * 2 ** 30,
      },
      { repositories: ['scratch/*'], immutabletags: [], retention: { keeptags: [] }, quota: 1000 },
    ]);
  });

  it('defaults to no rules', () => {
    expect(load(MINIMAL).policies).toEqual([]);
  });

  it('names the key of a mistake', () => {
    expect(configError(() => load(withPolicies('  - quota: 1GB\n')), 'policies.0.repositories')).toMatch(/is required/);
    expect(configError(() => load(withPolicies('  - repositories: ["Prod/*"]\n')), 'policies.0.repositories.0')).toMatch(/glob/);
    expect(configError(() => load(withPolicies('  - repositories: [a]\n    immutabletags: ["v/1"]\n')), 'policies.0.immutabletags.0')).toMatch(/tag glob/);
    expect(configError(() => load(withPolicies('  - repositories: [a]\n    quota: lots\n')), 'policies.0.quota')).toMatch(/50GiB/);
    expect(configError(() => load(withPolicies('  - repositories: [a]\n  - repositories: [b]\n    retention: {keeplast: -1}\n')), 'policies.1.retention.keeplast')).toBeDefined();
    expect(configError(() => load(withPolicies('  - repositories: [a]\n    retention: {pushedwithin: -1h}\n')), 'policies.0.retention.pushedwithin')).toBeDefined();
    expect(configError(() => load(withPolicies('  - repositories: [a]\n    retention: {keeplast: 1, keepall: true}\n')), 'policies.0.retention.keepall')).toBeDefined();
  });

  it('takes REGISTRY_POLICIES_<index>_* variables, appending a rule at the next index', () => {
    const config = load(withPolicies('  - repositories: ["prod/**"]\n'), {
      REGISTRY_POLICIES_0_QUOTA: '2GiB',
      REGISTRY_POLICIES_0_RETENTION_KEEPLAST: '5',
      REGISTRY_POLICIES_1: '{repositories: ["dev/**"], immutabletags: ["v*"]}',
    });
    expect(config.policies).toEqual([
      { repositories: ['prod/**'], immutabletags: [], retention: { keeplast: 5, keeptags: [] }, quota: 2 * 2 ** 30 },
      { repositories: ['dev/**'], immutabletags: ['v*'], retention: { keeptags: [] } },
    ]);
  });
});
