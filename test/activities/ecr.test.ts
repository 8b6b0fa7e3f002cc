/** ECR helpers against a real moto server; the access-denied path with aws-sdk-client-mock, since moto allows all. */
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  type ECRClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-ecr';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { ecrActivities, getRegistryAuth } from '../../src/activities/ecr.js';
import { ErrorType } from '../../src/shared/errors.js';
import { failureOf, runActivity } from '../support/activity.js';
import { startMoto, type MotoServer } from '../../src/devstack/moto.js';
import { testConfig } from '../support/workspace.js';

const region = 'us-east-1';
const savedEnv = { ...process.env };
let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env, { AWS_REGION: region });
  const ecr = new ECRClient({ region });
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'my-app' }));
  ecr.destroy();
});

afterAll(async () => {
  process.env = savedEnv;
  await moto.stop();
});

describe('getRegistryAuth', () => {
  it('decodes the ECR token into user and password and gives the registry host without a scheme', async () => {
    const auth = await getRegistryAuth({ region });
    expect(auth).toEqual({
      registry: `123456789012.dkr.ecr.${region}.amazonaws.com`,
      username: 'AWS',
      password: '123456789012-auth-token',
    });
  });

  it('refuses a region that does not exist before calling AWS', async () => {
    const err = await failureOf(getRegistryAuth({ region: 'moon-1' }));
    expect(err.type).toBe(ErrorType.invalidInput);
    expect(err.nonRetryable).toBe(true);
  });
});

describe('checkRepository', () => {
  const { checkRepository } = ecrActivities(testConfig());

  it('returns the URI of an existing repository', async () => {
    const result = await runActivity(checkRepository, { region, repository: 'my-app' });
    expect(result.repositoryUri).toBe(`123456789012.dkr.ecr.${region}.amazonaws.com/my-app`);
  });

  it('fails non-retryably with NotFound, saying how to fix it, when the repository is missing', async () => {
    const err = await failureOf(runActivity(checkRepository, { region, repository: 'nope' }));
    expect(err.type).toBe(ErrorType.notFound);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe(
      `repository: ECR repository "nope" not found in ${region}; create it or fix ECR_REPOSITORY`,
    );
  });

  describe('when AWS answers with an error', () => {
    let mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, ECRClientResolvedConfig>;
    beforeAll(() => {
      mock = mockClient(ECRClient);
    });
    afterAll(() => mock.restore());

    it('fails non-retryably with AccessDenied, keeping AWS message', async () => {
      const denied = Object.assign(new Error('User: arn:aws:iam::1:user/x is not authorized'), {
        name: 'AccessDeniedException',
      });
      mock.on(DescribeRepositoriesCommand).rejects(denied);
      const err = await failureOf(
        runActivity(ecrActivities(testConfig()).checkRepository, { region, repository: 'a' }),
      );
      expect(err.type).toBe(ErrorType.accessDenied);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toContain('is not authorized');
    });

    it('stays retryable for a server error', async () => {
      const boom = Object.assign(new Error('We encountered an internal error'), { name: 'ServerException' });
      mock.on(DescribeRepositoriesCommand).rejects(boom);
      const err = await failureOf(
        runActivity(ecrActivities(testConfig()).checkRepository, { region, repository: 'a' }),
      );
      expect(err.nonRetryable).toBe(false);
      expect(err.message).toContain('internal error');
    });
  });
});
