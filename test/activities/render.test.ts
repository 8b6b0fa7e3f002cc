/** What a template would look like once ECS stored it: the diff of `deployctl diff` compares like with like. */
import { asRegistered } from '../../src/activities/render.js';

describe('asRegistered', () => {
  test('fills in what RegisterTaskDefinition fills in, and keeps what the template says', () => {
    const stored = asRegistered({
      family: 'web',
      networkMode: 'awsvpc',
      containerDefinitions: [
        { name: 'app', image: 'r/web:1', portMappings: [{ containerPort: 8080, protocol: 'tcp' }] },
        {
          name: 'sidecar',
          image: 'r/side:1',
          cpu: 128,
          essential: false,
          portMappings: [{ containerPort: 9000, hostPort: 9000 }],
        },
      ],
    });
    expect(stored.containerDefinitions).toEqual([
      {
        name: 'app',
        image: 'r/web:1',
        cpu: 0,
        essential: true,
        portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
      },
      {
        name: 'sidecar',
        image: 'r/side:1',
        cpu: 128,
        essential: false,
        portMappings: [{ containerPort: 9000, hostPort: 9000 }],
      },
    ]);
  });

  test('leaves host ports alone under bridge networking, where ECS picks them', () => {
    const stored = asRegistered({
      family: 'web',
      networkMode: 'bridge',
      containerDefinitions: [{ name: 'app', image: 'r/web:1', portMappings: [{ containerPort: 8080 }] }],
    });
    expect(stored.containerDefinitions?.[0]?.portMappings).toEqual([{ containerPort: 8080 }]);
  });
});
