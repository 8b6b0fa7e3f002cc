/**
 * Every answer of the ECS emulator (scripts/moto_sim/) fits botocore's ECS service model. The check
 * itself is test/emulator/check_shapes.py, which drives real HTTP calls through rollouts of every kind.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, TOOLS_BIN } from '../../src/devstack/process.js';
import { startMoto, type MotoServer } from '../../src/devstack/moto.js';

interface Report {
  answers: Record<string, number>;
  errors: string[];
  planted: { fault: string; caught: boolean; errors: string[] }[];
}

let moto: MotoServer;
let report: Report;

beforeAll(async () => {
  moto = await startMoto({ stepMs: 50 });
  const { stdout } = await promisify(execFile)(
    `${TOOLS_BIN}/python`,
    [`${ROOT}/test/emulator/check_shapes.py`, '--endpoint', moto.endpoint],
    { timeout: 90_000, maxBuffer: 10 * 1024 * 1024 },
  );
  report = JSON.parse(stdout) as Report;
});

afterAll(async () => {
  await moto?.stop();
});

describe('the emulator answers in the shapes of the ECS API', () => {
  test('every answer of every checked operation fits its output shape, and every error is declared', () => {
    expect(report.errors).toEqual([]);
  });

  test('answers of each operation were checked, successful and refused', () => {
    for (const operation of [
      'CreateService',
      'UpdateService',
      'DescribeServices',
      'ListServiceDeployments',
      'DescribeServiceDeployments',
      'DescribeServiceRevisions',
      'StopServiceDeployment',
      'ContinueServiceDeployment',
    ]) {
      expect(report.answers[operation]).toBeGreaterThan(0);
    }
    expect(Object.keys(report.answers)).toEqual(
      expect.arrayContaining([
        'ContinueServiceDeployment!ClientException',
        'StopServiceDeployment!ConflictException',
        'StopServiceDeployment!ServiceDeploymentNotFoundException',
        'UpdateService!InvalidParameterException',
      ]),
    );
  });

  test('the check catches each fault planted in a real answer', () => {
    expect(report.planted.map((p) => p.fault)).toEqual([
      'unknown member',
      'enum value outside the enum',
      'string for an integer',
      'text timestamp',
      'structure for a list',
      'required member missing',
    ]);
    for (const planted of report.planted) expect(planted).toMatchObject({ caught: true });
  });
});
