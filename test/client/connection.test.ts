/** Temporal connection settings: TLS, API key and mTLS from the environment, and the errors bad settings give. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNamespace, openConnection } from '../../src/client/connect.js';
import { connectOptions, readConnectionSettings } from '../../src/client/connection.js';
import { startDevServer, type DevServer } from '../support/temporal.js';

const PEM = (label: string): string => `-----BEGIN ${label}-----\nMIIBfake\n-----END ${label}-----\n`;

let dir: string;
let cert: string;
let key: string;
let ca: string;
let notPem: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'connection-'));
  cert = join(dir, 'client.pem');
  key = join(dir, 'client.key');
  ca = join(dir, 'ca.pem');
  notPem = join(dir, 'client.der');
  await writeFile(cert, PEM('CERTIFICATE'));
  await writeFile(key, PEM('PRIVATE KEY'));
  await writeFile(ca, PEM('CERTIFICATE'));
  await writeFile(notPem, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readConnectionSettings', () => {
  test('with nothing set, it talks plaintext to a local dev server', () => {
    const s = readConnectionSettings({});
    expect(s).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'ecs-deploy', tls: false });
    expect(connectOptions(s)).toEqual({ address: 'localhost:7233' });
  });

  test('an API key turns TLS on and is sent as the API key', () => {
    const s = readConnectionSettings({
      TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'prod.a1b2c',
      TEMPORAL_API_KEY: ' secret-key ',
    });
    expect(s.tls).toEqual({});
    expect(connectOptions(s)).toEqual({
      address: 'us-east-1.aws.api.temporal.io:7233',
      tls: true,
      apiKey: 'secret-key',
    });
  });

  test('an API key with TEMPORAL_TLS=false is refused, naming TEMPORAL_API_KEY', () => {
    expect(() => readConnectionSettings({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' })).toThrow(
      'invalid TEMPORAL_API_KEY: an API key is only sent over TLS; remove TEMPORAL_TLS=false',
    );
  });

  test('client certificates with TEMPORAL_TLS=false are refused, naming TEMPORAL_TLS', () => {
    expect(() =>
      readConnectionSettings({
        TEMPORAL_TLS: 'false',
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      }),
    ).toThrow('invalid TEMPORAL_TLS: client certificates need TLS');
  });

  test('a certificate without its key names the missing variable, and the other way round', () => {
    expect(() => readConnectionSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert })).toThrow(
      'invalid TEMPORAL_TLS_CLIENT_KEY_PATH: mTLS needs both the client certificate and its key',
    );
    expect(() => readConnectionSettings({ TEMPORAL_TLS_CLIENT_KEY_PATH: key })).toThrow(
      'invalid TEMPORAL_TLS_CLIENT_CERT_PATH: mTLS needs both the client certificate and its key',
    );
  });

  test('a certificate file that does not exist is named with its path', () => {
    const missing = join(dir, 'nope.pem');
    expect(() =>
      readConnectionSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: missing, TEMPORAL_TLS_CLIENT_KEY_PATH: key }),
    ).toThrow(`invalid TEMPORAL_TLS_CLIENT_CERT_PATH: file ${missing} does not exist`);
    expect(() => readConnectionSettings({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing })).toThrow(
      `invalid TEMPORAL_TLS_SERVER_CA_CERT_PATH: file ${missing} does not exist`,
    );
  });

  test('a file that is not PEM is refused before any connection', () => {
    expect(() =>
      readConnectionSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: notPem }),
    ).toThrow(`invalid TEMPORAL_TLS_CLIENT_KEY_PATH: file ${notPem} is not PEM (no "-----BEGIN" line)`);
  });

  test('mTLS loads the pair, the server CA and the server name', () => {
    const s = readConnectionSettings({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
    });
    expect(s.tls).toEqual({
      serverNameOverride: 'frontend.temporal.internal',
      serverRootCACertificate: Buffer.from(PEM('CERTIFICATE')),
      clientCertPair: { crt: Buffer.from(PEM('CERTIFICATE')), key: Buffer.from(PEM('PRIVATE KEY')) },
    });
    expect(s.apiKey).toBeUndefined();
    expect(connectOptions(s).tls).toBe(s.tls);
  });

  test('TEMPORAL_TLS=true alone means TLS with the system roots', () => {
    expect(connectOptions(readConnectionSettings({ TEMPORAL_TLS: 'TRUE' })).tls).toBe(true);
  });

  test('bad values name their variable', () => {
    expect(() => readConnectionSettings({ TEMPORAL_ADDRESS: 'https://temporal.example.com' })).toThrow(
      'invalid TEMPORAL_ADDRESS: "https://temporal.example.com" is not host:port',
    );
    expect(() => readConnectionSettings({ TEMPORAL_ADDRESS: 'temporal.example.com' })).toThrow(
      'invalid TEMPORAL_ADDRESS',
    );
    expect(() => readConnectionSettings({ TEMPORAL_NAMESPACE: 'my namespace' })).toThrow(
      'invalid TEMPORAL_NAMESPACE: "my namespace" is not a namespace name',
    );
    expect(() => readConnectionSettings({ TEMPORAL_TLS: 'yes' })).toThrow(
      'invalid TEMPORAL_TLS: "yes" must be true or false',
    );
  });
});

describe('against a real Temporal dev server', () => {
  let server: DevServer;

  beforeAll(async () => {
    server = await startDevServer();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  test('a namespace the server knows passes the start-up check', async () => {
    await expect(checkNamespace(readConnectionSettings({ TEMPORAL_ADDRESS: server.address }))).resolves.toBe(undefined);
  });

  test('an unknown namespace fails at start with a message naming TEMPORAL_NAMESPACE', async () => {
    const settings = readConnectionSettings({ TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'nope' });
    await expect(checkNamespace(settings)).rejects.toThrow(
      `invalid TEMPORAL_NAMESPACE: namespace "nope" does not exist on ${server.address}`,
    );
  });

  test('TLS against a plaintext server fails to connect, pointing at the TLS settings', async () => {
    const settings = readConnectionSettings({ TEMPORAL_ADDRESS: server.address, TEMPORAL_API_KEY: 'k' });
    await expect(openConnection(settings)).rejects.toThrow(
      new RegExp(
        `^failed to connect to Temporal at ${server.address}: .*; check TEMPORAL_ADDRESS and the TLS settings$`,
      ),
    );
  });

  test('nothing listening at the address fails to connect, naming the address', async () => {
    const settings = readConnectionSettings({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    await expect(openConnection(settings)).rejects.toThrow('failed to connect to Temporal at 127.0.0.1:1');
  }, 30_000);
});
