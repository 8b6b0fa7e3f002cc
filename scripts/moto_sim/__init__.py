"""moto_server with ECS deployments that behave like real ECS.

Usage: .tools/venv/bin/python scripts/moto_sim --host 127.0.0.1 --port 5000 [--step-ms 1000] [--minute-ms 60000]

moto's ECS never progresses a service: UpdateService adds no deployment and nothing ever fails, and
it has none of the service-deployment operations. This extension makes every UpdateService that
changes the task definition (or forces a new deployment) start a rollout that advances with time,
lazily, whenever the service is read; and it adds ListServiceDeployments, DescribeServiceDeployments,
DescribeServiceRevisions, StopServiceDeployment and ContinueServiceDeployment.

A rollout follows the service's deploymentConfiguration.strategy (ROLLING, BLUE_GREEN, LINEAR,
CANARY; see strategies.py) through ECS's lifecycle stages, runs its lifecycle hooks (a PAUSE hook
waits for ContinueServiceDeployment or its timeout) and shows itself twice, kept in agreement: as a
service deployment (status, lifecycleStage, hooks, circuit breaker, alarms, rollback, revisions with
counts and traffic weights) and in the service's deployments[] (PRIMARY/ACTIVE, rolloutState).

How the next rollout ends is chosen through the real ECS API, by tagging the service before the update:
  sim:next-rollout = succeed (default)  every stage passes; the deployment is SUCCESSFUL
                   | fail               tasks exit until the circuit breaker trips; the deployment
                                        is STOPPED and its deployments[] entry FAILED (no rollback)
                   | rollback           the same, but ECS rolls back by itself, once:
                                        ROLLBACK_REQUESTED -> ROLLBACK_IN_PROGRESS -> ROLLBACK_SUCCESSFUL
                   | rollback-fail      the same, but the rollback ends ROLLBACK_FAILED
                   | alarm              all tasks start, then a CloudWatch alarm goes off one step after
                                        the new revision takes all traffic, and ECS rolls back
                   | hang               the last task never starts; the deployment stays IN_PROGRESS
  sim:step-ms      = real milliseconds per step (default --step-ms, 1000): a task start, a stage
  sim:alarm-name   = the alarm that goes off under `alarm` (default: the first configured alarm,
                     else sim-deployment-alarm)
  sim:minute-ms    = real milliseconds per configured minute (default --minute-ms, 60000), for
                     bakeTimeInMinutes, stepBakeTimeInMinutes, canaryBakeTimeInMinutes and a hook's
                     timeoutInMinutes
The first three are consumed when the rollout starts, so a later update (a rollback) succeeds at the
default pace; sim:minute-ms stays on the service.
"""

from . import clock, patches


def install(step_ms=1000, minute_ms=60_000):
    clock.DEFAULTS.update(step_ms=step_ms, minute_ms=minute_ms)
    patches.install()
