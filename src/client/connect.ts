/** Opening a Temporal client from the environment's settings, with a clear error when the server or namespace is wrong. */
import { Client, Connection } from '@temporalio/client';
import { connectOptions, type ConnectionSettings } from './connection.js';
import { errorMessage } from '../shared/errors.js';

/**
 * Thrown when Temporal cannot be used at all: nothing answers at the address, TLS or the API key is refused, or the
 * namespace does not exist. Nothing was requested; the fix is in the connection settings.
 */
export class TemporalUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalUnreachableError';
  }
}

export async function openConnection(settings: ConnectionSettings): Promise<Connection> {
  try {
    return await Connection.connect({ ...connectOptions(settings), connectTimeout: '10 seconds' });
  } catch (err) {
    throw new TemporalUnreachableError(
      `failed to connect to Temporal at ${settings.address}: ${errorMessage(err)}; check TEMPORAL_ADDRESS and the TLS settings`,
    );
  }
}

/** Fails with a message naming TEMPORAL_NAMESPACE when the server does not know the namespace. */
export async function checkNamespace(settings: ConnectionSettings, existing?: Connection): Promise<void> {
  const connection = existing ?? (await openConnection(settings));
  try {
    await connection.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    const text = errorMessage(err);
    if (/not found|NOT_FOUND/i.test(text)) {
      throw new TemporalUnreachableError(
        `invalid TEMPORAL_NAMESPACE: namespace "${settings.namespace}" does not exist on ${settings.address}`,
      );
    }
    throw new TemporalUnreachableError(
      `failed to check namespace "${settings.namespace}" on ${settings.address}: ${text}`,
    );
  } finally {
    if (!existing) await connection.close();
  }
}

export async function openClient(settings: ConnectionSettings): Promise<Client> {
  const connection = await openConnection(settings);
  try {
    await checkNamespace(settings, connection);
  } catch (err) {
    await connection.close();
    throw err;
  }
  return new Client({ connection, namespace: settings.namespace });
}
