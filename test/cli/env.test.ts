/** Reading the target and options from flags and the pipeline's variables: a flag wins, an error names its source. */
import { readOptions, readServiceScope, readTarget, requestedBy, targetSources } from '../../src/cli/env.js';
import { parseDuration } from '../../src/shared/duration.js';

const ENV = {
  AWS_REGION: 'eu-west-1',
  ECR_REPOSITORY: 'web',
  ECS_CLUSTER: 'prod',
  ECS_SERVICE: 'web',
  CONTAINER_NAME: 'app',
  ECS_TASK_DEFINITION: '.aws/task-definition.json',
};

describe('readTarget', () => {
  test('takes the target from the variables of the original pipeline', () => {
    expect(readTarget(targetSources(ENV))).toEqual({
      region: 'eu-west-1',
      cluster: 'prod',
      service: 'web',
      repository: 'web',
      containerName: 'app',
      taskDefinitionPath: '.aws/task-definition.json',
    });
  });

  test('a flag wins over its variable, and an error names the flag it came from', () => {
    expect(readTarget(targetSources(ENV, { cluster: 'staging' })).cluster).toBe('staging');
    expect(() => readTarget(targetSources(ENV, { service: 'web/2' }))).toThrow(
      'invalid --service: "web/2" is not a valid ECS service name',
    );
  });

  test('the recipe comes from DEPLOY_RECIPE or --recipe, and a path leaving the repository names its source', () => {
    expect(readTarget(targetSources({ ...ENV, DEPLOY_RECIPE: 'services/api/deploy.yml' })).recipePath).toBe(
      'services/api/deploy.yml',
    );
    expect(readTarget(targetSources(ENV)).recipePath).toBeUndefined();
    expect(readTarget(targetSources({ ...ENV, DEPLOY_RECIPE: 'a.yml' }, { recipePath: 'b.yml' })).recipePath).toBe(
      'b.yml',
    );
    expect(() => readTarget(targetSources(ENV, { recipePath: '../deploy.yml' }))).toThrow(/^invalid --recipe: /);
    expect(() => readTarget(targetSources({ ...ENV, DEPLOY_RECIPE: '/etc/deploy.yml' }))).toThrow(
      /^invalid DEPLOY_RECIPE: /,
    );
  });

  test('an unset variable is named with the flag that can stand in for it', () => {
    expect(() => readTarget(targetSources({ ...ENV, CONTAINER_NAME: undefined }))).toThrow(
      'invalid CONTAINER_NAME: not set; set it, or pass --container-name',
    );
  });

  test('AWS_DEFAULT_REGION stands in for AWS_REGION, as in the AWS CLI', () => {
    expect(readTarget(targetSources({ ...ENV, AWS_REGION: undefined, AWS_DEFAULT_REGION: 'us-west-2' })).region).toBe(
      'us-west-2',
    );
  });
});

describe('readServiceScope', () => {
  test('needs only the cluster and the service, not the rest of the target', () => {
    expect(readServiceScope(targetSources({ ECS_CLUSTER: 'prod', ECS_SERVICE: 'web' }))).toEqual({
      cluster: 'prod',
      service: 'web',
    });
  });

  test('asks for the region only when told to, naming AWS_REGION', () => {
    expect(() =>
      readServiceScope(targetSources({ ECS_CLUSTER: 'prod', ECS_SERVICE: 'web' }), { region: true }),
    ).toThrow('invalid AWS_REGION: not set');
  });
});

describe('readOptions and durations', () => {
  test('flags win over the per-target variables', () => {
    const env = { DEPLOY_REQUIRE_APPROVAL: 'true', DEPLOY_APPROVERS: 'alice, bob', DEPLOY_STABLE_TIMEOUT: '20m' };
    expect(readOptions(env, { stableTimeoutMs: 1000 })).toEqual({
      requireApproval: true,
      approvers: ['alice', 'bob'],
      stableTimeoutMs: 1000,
    });
  });

  test('durations read as 90s, 15m, 1h or milliseconds; anything else names the field', () => {
    expect([
      parseDuration('90s', 'f'),
      parseDuration('15m', 'f'),
      parseDuration('1h', 'f'),
      parseDuration('250', 'f'),
    ]).toEqual([90_000, 900_000, 3_600_000, 250]);
    expect(() => parseDuration('1 day', '--approval-timeout')).toThrow(
      'invalid --approval-timeout: "1 day" is not a duration like 90s, 15m or 1h',
    );
  });
});

describe('requestedBy', () => {
  test('names the Actions run and actor in a job, the local user elsewhere', () => {
    expect(
      requestedBy({ GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '7', GITHUB_ACTOR: 'octo' }),
    ).toBe('github:acme/web run 7 by octo');
    expect(requestedBy({ USER: 'carol' })).toBe('deployctl by carol');
  });
});
