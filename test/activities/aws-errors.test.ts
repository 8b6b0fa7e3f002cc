/** Which AWS errors a retry can fix, and how the rest read. */
import { testConfig } from '../support/workspace.js';
import {
  AccessDeniedException,
  ClientException,
  DescribeServicesCommand,
  ECSClient,
  ServerException,
  ServiceNotFoundException,
} from '@aws-sdk/client-ecs';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mockClient } from 'aws-sdk-client-mock';
import { awsFailure } from '../../src/activities/aws-errors.js';
import { ecsActivities } from '../../src/activities/ecs.js';
import { ErrorType } from '../../src/shared/errors.js';
import type { DescribeTargetInput } from '../../src/shared/types.js';

const $metadata = { httpStatusCode: 400 };

function awsError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

describe('awsFailure', () => {
  test.each([
    ['throttling', awsError('ThrottlingException', 'Rate exceeded', 400)],
    ['a 400 that says Rate exceeded', new ClientException({ message: 'Rate exceeded', $metadata })],
    ['a 5xx', new ServerException({ message: 'internal error', $metadata: { httpStatusCode: 500 } })],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })],
    ['anything unknown', new Error('socket hang up')],
  ])('%s stays retryable', (_what, err) => {
    const failure = awsFailure('describe ECS service "web"', err);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(`failed to describe ECS service "web": ${err.message}`);
    expect(failure.cause).toBe(err);
  });

  test.each([
    [ErrorType.accessDenied, new AccessDeniedException({ message: 'User: x is not authorized', $metadata })],
    [ErrorType.accessDenied, awsError('UnauthorizedOperation', 'You are not authorized', 403)],
    [ErrorType.notFound, new ServiceNotFoundException({ message: 'Service not found.', $metadata })],
    [ErrorType.notFound, awsError('RepositoryNotFoundException', 'The repository does not exist', 400)],
    [ErrorType.invalidInput, new ClientException({ message: 'TaskDefinition is inactive', $metadata })],
    [ErrorType.invalidInput, awsError('InvalidParameterException', 'bad', 400)],
    [ErrorType.invalidInput, awsError('ValidationException', 'bad', 400)],
  ])('is a non-retryable %s for %p', (type, err) => {
    const failure = awsFailure('update ECS service "web"', err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`failed to update ECS service "web": ${err.message}`);
  });
});

describe('activities on AWS errors', () => {
  const ecs = mockClient(ECSClient);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const act = ecsActivities(testConfig());
  const target: DescribeTargetInput = { region: 'eu-west-1', cluster: 'apps', service: 'web', repository: 'web' };
  const describeTarget = (input: DescribeTargetInput) =>
    env.run<[DescribeTargetInput], unknown, typeof act.describeTarget>(act.describeTarget, input);

  afterEach(() => ecs.reset());
  afterAll(() => ecs.restore());

  test('access denied fails at once with AWS message', async () => {
    const denied = new AccessDeniedException({
      message: 'User: arn:aws:iam::1:user/ci is not authorized to perform: ecs:DescribeServices',
      $metadata,
    });
    ecs.on(DescribeServicesCommand).rejects(denied);
    const failure = (await describeTarget(target).catch((e: unknown) => e)) as ApplicationFailure;
    expect(failure).toMatchObject({ type: ErrorType.accessDenied, nonRetryable: true });
    expect(failure.message).toBe(
      'failed to describe ECS service "web" in cluster "apps": User: arn:aws:iam::1:user/ci is not authorized to perform: ecs:DescribeServices',
    );
  });

  test('a service that was deleted is NotFound naming the service', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'web', status: 'INACTIVE' }], failures: [] });
    const failure = (await describeTarget(target).catch((e: unknown) => e)) as ApplicationFailure;
    expect(failure).toMatchObject({ type: ErrorType.notFound, nonRetryable: true });
    expect(failure.message).toBe(
      'service: ECS service "web" is INACTIVE in cluster "apps" (eu-west-1); fix ECS_SERVICE',
    );
  });
});
