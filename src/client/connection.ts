/**
 * Temporal connection settings for the worker and the CLI, read from the environment once.
 * Supports a local dev server, a self-hosted cluster with mTLS, and Temporal Cloud with an API key.
 */
import { readFileSync, existsSync } from 'node:fs';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../shared/names.js';
import { ValidationError } from '../shared/validate.js';

export interface TlsSettings {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface ConnectionSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** false: plaintext (local dev server only). */
  tls: TlsSettings | false;
  apiKey?: string;
}

export function readConnectionSettings(env: Record<string, string | undefined>): ConnectionSettings {
  const address = env.TEMPORAL_ADDRESS?.trim() || 'localhost:7233';
  if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(address)) {
    throw new ValidationError('TEMPORAL_ADDRESS', `"${address}" is not host:port`);
  }
  const namespace = env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_NAMESPACE;
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(namespace)) {
    throw new ValidationError('TEMPORAL_NAMESPACE', `"${namespace}" is not a namespace name`);
  }
  const taskQueue = env.TEMPORAL_TASK_QUEUE?.trim() || DEFAULT_TASK_QUEUE;
  const apiKey = env.TEMPORAL_API_KEY?.trim() || undefined;
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH?.trim() || undefined;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH?.trim() || undefined;
  const caPath = env.TEMPORAL_TLS_SERVER_CA_CERT_PATH?.trim() || undefined;
  const serverName = env.TEMPORAL_TLS_SERVER_NAME?.trim() || undefined;
  const tlsFlag = env.TEMPORAL_TLS?.trim().toLowerCase();
  if (tlsFlag !== undefined && tlsFlag !== '' && !['true', 'false'].includes(tlsFlag)) {
    throw new ValidationError('TEMPORAL_TLS', `"${env.TEMPORAL_TLS}" must be true or false`);
  }
  const wantsTls =
    tlsFlag === 'true' ||
    (tlsFlag !== 'false' &&
      (apiKey !== undefined || certPath !== undefined || keyPath !== undefined || caPath !== undefined));

  if (!wantsTls) {
    if (apiKey)
      throw new ValidationError('TEMPORAL_API_KEY', 'an API key is only sent over TLS; remove TEMPORAL_TLS=false');
    if (certPath || keyPath)
      throw new ValidationError('TEMPORAL_TLS', 'client certificates need TLS; remove TEMPORAL_TLS=false');
    return { address, namespace, taskQueue, tls: false };
  }
  if ((certPath === undefined) !== (keyPath === undefined)) {
    const missing = certPath === undefined ? 'TEMPORAL_TLS_CLIENT_CERT_PATH' : 'TEMPORAL_TLS_CLIENT_KEY_PATH';
    throw new ValidationError(missing, 'mTLS needs both the client certificate and its key; set both or neither');
  }
  const tls: TlsSettings = {};
  if (serverName) tls.serverNameOverride = serverName;
  if (caPath) tls.serverRootCACertificate = readPem(caPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  if (certPath && keyPath) {
    tls.clientCertPair = {
      crt: readPem(certPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH'),
      key: readPem(keyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
    };
  }
  const settings: ConnectionSettings = { address, namespace, taskQueue, tls };
  if (apiKey) settings.apiKey = apiKey;
  return settings;
}

function readPem(path: string, field: string): Buffer {
  if (!existsSync(path)) throw new ValidationError(field, `file ${path} does not exist`);
  const data = readFileSync(path);
  if (!data.toString('utf8').includes('-----BEGIN ')) {
    throw new ValidationError(field, `file ${path} is not PEM (no "-----BEGIN" line)`);
  }
  return data;
}

/** The connection options both Connection.connect and NativeConnection.connect take. */
export function connectOptions(s: ConnectionSettings): {
  address: string;
  tls?: TlsSettings | boolean;
  apiKey?: string;
} {
  const out: { address: string; tls?: TlsSettings | boolean; apiKey?: string } = { address: s.address };
  if (s.tls !== false) out.tls = Object.keys(s.tls).length > 0 ? s.tls : true;
  if (s.apiKey) out.apiKey = s.apiKey;
  return out;
}
