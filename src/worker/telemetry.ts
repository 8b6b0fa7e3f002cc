/**
 * The SDK's runtime, installed once before anything connects: its logger writes JSON lines (log.ts), and with
 * DEPLOY_METRICS_ADDR its Prometheus endpoint serves the SDK's metrics (task latencies, slots, polls) beside the
 * deploy's own: outcomes and stage durations from the workflow (src/workflows/metrics.ts), notifications from their
 * activity, and every ECS request from here.
 */
import { Runtime, type Logger } from '@temporalio/worker';
import type { TelemetryConfig } from './config.js';
import type { EcsCall } from '../activities/clients.js';
import { jsonLogger } from './log.js';

/** Stages last from a second (a register) to an hour (an approval): the SDK's default buckets stop at 10 s. */
const STAGE_BUCKETS_SECONDS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export interface Telemetry {
  logger: Logger;
  /** Counts ECS requests by operation, region and outcome (deploy_ecs_calls_total). */
  onEcsCall: (call: EcsCall) => void;
}

export function installTelemetry(config: TelemetryConfig): Telemetry {
  const logger = jsonLogger(config.logLevel);
  // Node prints process warnings (the AWS SDK's notice about Node versions among them) as plain text, which breaks a
  // JSON log: its own printer is a listener like any other, so it is replaced by the logger.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn(`worker: ${warning.name}: ${warning.message}`));
  let runtime: Runtime;
  try {
    runtime = Runtime.install({
      logger,
      telemetryOptions: {
        // The core's own messages come through the same logger, so every line is JSON.
        logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
        ...(config.metricsAddress
          ? {
              metrics: {
                prometheus: {
                  bindAddress: config.metricsAddress,
                  histogramBucketOverrides: { deploy_stage_duration_seconds: STAGE_BUCKETS_SECONDS },
                },
              },
            }
          : {}),
      },
    });
  } catch (err) {
    throw new Error(
      `failed to start the metrics endpoint on DEPLOY_METRICS_ADDR ${config.metricsAddress ?? ''}: ${err instanceof Error ? err.message : String(err)}; give it a free host:port, or unset it`,
    );
  }
  const ecsCalls = runtime.metricMeter.createCounter('deploy_ecs_calls_total', undefined, 'requests sent to ECS');
  return {
    logger,
    onEcsCall: (call) => ecsCalls.add(1, { operation: call.operation, region: call.region, outcome: call.outcome }),
  };
}
