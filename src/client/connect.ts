/** Opening a Temporal client from the environment's settings, with a clear error when the server or namespace is wrong. */
import { Client, Connection } from '@temporalio/client';
import { connectOptions, type ConnectionSettings } from '../shared/connection.js';
import { errorMessage } from '../shared/errors.js';

export async function openConnection(settings: ConnectionSettings): Promise<Connection> {
  try {
    return await Connection.connect({ ...connectOptions(settings), connectTimeout: '10 seconds' });
  } catch (err) {
    throw new Error(
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
      throw new Error(
        `invalid TEMPORAL_NAMESPACE: namespace "${settings.namespace}" does not exist on ${settings.address}`,
      );
    }
    throw new Error(`failed to check namespace "${settings.namespace}" on ${settings.address}: ${text}`);
  } finally {
    if (!existing) await connection.close();
  }
}

export async function openClient(settings: ConnectionSettings): Promise<Client> {
  const connection = await openConnection(settings);
  await checkNamespace(settings, connection);
  return new Client({ connection, namespace: settings.namespace });
}
