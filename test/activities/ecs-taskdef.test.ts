/** Task-definition templates: the image swap, Fargate sizes and the reviewable diff. */
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import {
  FARGATE_SIZES,
  taskDefinitionDiff,
  toTemplate,
  validateFargateSize,
  withImage,
  withImageIn,
  type TaskDefinitionTemplate,
} from '../../src/activities/ecs-taskdef.js';
import { ValidationError } from '../../src/shared/validate.js';

const described: TaskDefinition = {
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1',
  family: 'web',
  revision: 1,
  status: 'ACTIVE',
  compatibilities: ['EC2', 'FARGATE'],
  requiresCompatibilities: ['FARGATE'],
  registeredAt: new Date('2025-01-01T00:00:00Z'),
  cpu: '256',
  memory: '512',
  containerDefinitions: [
    { name: 'web', image: 'repo/web:old', environment: [{ name: 'LOG_LEVEL', value: 'info' }] },
    { name: 'sidecar', image: 'repo/sidecar:1' },
  ],
};

function fargate(cpu: string | undefined, memory: string | undefined): TaskDefinitionTemplate {
  return { family: 'web', requiresCompatibilities: ['FARGATE'], cpu, memory, containerDefinitions: [] };
}

function fieldOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.field;
    throw err;
  }
  return undefined;
}

describe('templates', () => {
  test('a described task definition loses the fields RegisterTaskDefinition refuses', () => {
    const template: object = toTemplate(described);
    for (const field of ['taskDefinitionArn', 'revision', 'status', 'compatibilities', 'registeredAt']) {
      expect(template).not.toHaveProperty(field);
    }
    expect(template).toMatchObject({ family: 'web', cpu: '256', requiresCompatibilities: ['FARGATE'] });
  });

  test('withImage replaces the named container image and nothing else', () => {
    const template = toTemplate(described);
    const next = withImage(template, 'web', 'repo/web:new');
    expect(next.containerDefinitions?.map((c) => c.image)).toEqual(['repo/web:new', 'repo/sidecar:1']);
    expect(template.containerDefinitions?.[0]?.image).toBe('repo/web:old');
    expect(taskDefinitionDiff(template, next)).toEqual(['containers[web].image: repo/web:old -> repo/web:new']);
  });

  test("withImageIn gives the image to the target's container and the recipe's others, each once", () => {
    const template = toTemplate(described);
    const both = withImageIn(template, { containerName: 'web', containerNames: ['sidecar', 'web'] }, 'repo/web:new');
    expect(both.containerDefinitions?.map((c) => c.image)).toEqual(['repo/web:new', 'repo/web:new']);
    const one = withImageIn(template, { containerName: 'sidecar' }, 'repo/web:new');
    expect(one.containerDefinitions?.map((c) => c.image)).toEqual(['repo/web:old', 'repo/web:new']);
    expect(() => withImageIn(template, { containerName: 'web', containerNames: ['api'] }, 'x')).toThrow(
      'has no container named "api"',
    );
  });

  test('withImage names containerName and lists the containers when the container is missing', () => {
    expect(() => withImage(toTemplate(described), 'api', 'x')).toThrow(
      'invalid containerName: task definition "web" has no container named "api" (containers: "web", "sidecar")',
    );
  });
});

describe('validateFargateSize', () => {
  test('accepts every cpu and memory pair Fargate offers', () => {
    for (const [cpu, memories] of FARGATE_SIZES) {
      for (const memory of memories) validateFargateSize(fargate(String(cpu), String(memory)));
    }
  });

  test('the table has the documented ends', () => {
    expect(FARGATE_SIZES.get(4096)?.at(-1)).toBe(30720);
    expect(FARGATE_SIZES.get(8192)).toContain(20480);
    expect(FARGATE_SIZES.get(8192)).not.toContain(17408);
    expect(FARGATE_SIZES.get(16384)?.at(-1)).toBe(122880);
  });

  test('accepts vCPU and GB units', () => {
    expect(() => validateFargateSize(fargate('0.5 vCPU', '2 GB'))).not.toThrow();
  });

  test.each([
    ['memory', '256', '4096'],
    ['memory', '1024', '1024'],
    ['memory', '8192', '17408'],
    ['cpu', '300', '512'],
    ['cpu', undefined, '512'],
    ['memory', '256', undefined],
    ['memory', '256', 'lots'],
  ])('names %s for cpu %s with memory %s', (field, cpu, memory) => {
    expect(fieldOf(() => validateFargateSize(fargate(cpu, memory)))).toBe(field);
  });

  test('says which memory sizes the cpu takes', () => {
    expect(() => validateFargateSize(fargate('1024', '1024'))).toThrow(
      'invalid memory: Fargate with cpu 1024 takes memory 2048 to 8192 in steps of 1024 (MiB); got 1024',
    );
  });

  test('leaves task definitions that are not for Fargate alone', () => {
    expect(() => validateFargateSize({ family: 'web', cpu: '300', containerDefinitions: [] })).not.toThrow();
  });
});

describe('taskDefinitionDiff', () => {
  test('shows changed sizes, environment values and added containers, and ignores read-only fields', () => {
    const next: TaskDefinition = {
      ...described,
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:2',
      revision: 2,
      cpu: '512',
      memory: '1024',
      containerDefinitions: [
        { name: 'web', image: 'repo/web:old', environment: [{ name: 'LOG_LEVEL', value: 'debug' }] },
        { name: 'sidecar', image: 'repo/sidecar:1' },
        { name: 'proxy', image: 'envoy:1' },
      ],
    };
    expect(taskDefinitionDiff(described, next)).toEqual([
      'cpu: 256 -> 512',
      'memory: 512 -> 1024',
      'containers[web].environment[LOG_LEVEL].value: info -> debug',
      'containers[proxy].image: (none) -> envoy:1',
    ]);
  });

  test('is empty when nothing but the revision changed', () => {
    expect(taskDefinitionDiff(described, { ...described, revision: 9, tags: [{ key: 'a', value: 'b' }] })).toEqual([]);
  });
});
