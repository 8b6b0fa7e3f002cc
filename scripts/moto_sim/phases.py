"""The steps that rollout scripts are made of, shared by every strategy: starting, entering a
lifecycle stage, scaling the new revision up (where the chosen outcome makes tasks fail or hang),
shifting traffic, tripping the circuit breaker or an alarm, rolling back, stopping and finishing.

A script is a generator over a Ctx; it yields clock.Wait / clock.Forever / hooks.Await, and raises
hooks.RollBack when ECS would roll back. Each step keeps the service deployment and the rolling
`deployments[]` view in agreement.
"""

import math

from . import clock, hooks, rollout
from .settings import BREAKER_OUTCOMES

# ECS's default circuit-breaker threshold: half the desired count, at least 3 and at most 200 tasks.
BREAKER_MIN, BREAKER_MAX, BREAKER_PERCENT = 3, 200, 50


class Ended(Exception):
    """Raised inside a rollout script: the deployment has reached a final status."""


class Ctx:
    """One rollout: the service, its service deployment and its PRIMARY deployment in `deployments[]`."""

    def __init__(self, backend, service, sd, dep, settings, previous, source_arn):
        self.backend = backend
        self.service = service
        self.sd = sd
        self.dep = dep
        self.settings = settings
        self.previous = previous  # the task definition a rollback returns to
        self.source_arn = source_arn  # its service revision
        self.back = None  # the rollback's deployment in deployments[]
        self.runner = None
        config = sd.configuration or {}
        self.strategy = config.get("strategy") or "ROLLING"
        self.traffic = self.strategy != "ROLLING"  # rolling updates shift no traffic between revisions

    @property
    def step(self):
        return self.settings.step_s


def breaker_threshold(config, desired):
    threshold = (config.get("deploymentCircuitBreaker") or {}).get("thresholdConfiguration") or {}
    kind, value = threshold.get("type"), threshold.get("value")
    if kind == "COUNT" and value:
        return int(value)
    if kind == "UNBOUNDED_PERCENT" and value:
        return max(1, math.ceil(desired * value / 100))
    percent = value if kind == "BOUNDED_PERCENT" and value else BREAKER_PERCENT
    return min(BREAKER_MAX, max(BREAKER_MIN, math.ceil(desired * percent / 100)))


def prepare(ctx):
    """Monitors as configured; the chosen outcome turns on the monitor that will see it fail."""
    config = ctx.sd.configuration or {}
    outcome = ctx.settings.outcome
    breaker = config.get("deploymentCircuitBreaker") or {}
    if breaker.get("enable") or outcome in BREAKER_OUTCOMES:
        ctx.sd.circuit_breaker = {
            "status": "MONITORING",
            "failureCount": 0,
            "threshold": breaker_threshold(config, ctx.service.desired_count),
        }
    alarms = config.get("alarms") or {}
    names = list(alarms.get("alarmNames") or []) if alarms.get("enable") else []
    if outcome == "alarm" and ctx.settings.alarm_name not in names:
        names.append(ctx.settings.alarm_name)
    if names:
        ctx.sd.alarms = {"status": "MONITORING", "alarmNames": names, "triggeredAlarmNames": []}
    if ctx.traffic:
        _weights(ctx, target=0, test=0)


def _weights(ctx, target, test):
    """Production (and test) traffic: `target` percent to the new revision, the rest to the old one."""
    ctx.sd.target.production_weight, ctx.sd.target.test_weight = float(target), float(test)
    for i, source in enumerate(ctx.sd.sources):
        main = i == 0
        source.production_weight = float(100 - target) if main else 0.0
        source.test_weight = float(100 - test) if main else 0.0


def start(ctx):
    ctx.sd.touch(status="IN_PROGRESS", started_at=clock.now())


def stage(ctx, name):
    ctx.sd.touch(lifecycle_stage=name)
    yield from hooks.run(ctx, name)


def scale_up(ctx):
    """SCALE_UP: the new revision starts one task per step; under a failing outcome its tasks exit
    until the circuit breaker trips; under `hang` the last task never starts."""
    yield from stage(ctx, "SCALE_UP")
    desired, outcome = ctx.dep["desiredCount"], ctx.settings.outcome
    if outcome in BREAKER_OUTCOMES:
        threshold = ctx.sd.circuit_breaker["threshold"]
        for failed in range(1, threshold + 1):
            if failed > 1:
                yield clock.Wait(ctx.step)
            rollout.fail_task(ctx.backend, ctx.service, ctx.dep)
            ctx.sd.circuit_breaker["failureCount"] = failed
            ctx.sd.touch()
        trip_breaker(ctx)
    started = desired - 1 if outcome == "hang" else desired
    for n in range(started):
        if n > 0:
            yield clock.Wait(ctx.step)
        rollout.start_task(ctx.service, ctx.dep)
        ctx.sd.touch()
    if outcome == "hang":
        yield clock.Forever()


BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."


def trip_breaker(ctx):
    ctx.sd.circuit_breaker["status"] = "TRIGGERED"
    if ctx.settings.outcome == "fail":
        # Without rollback ECS stops the deployment where it is, and launches no more tasks.
        rollout.mark_failed(ctx.service, ctx.dep, BREAKER_REASON, "tasks failed to start")
        now = clock.now()
        hooks.abandon(ctx)
        ctx.sd.touch(status="STOPPED", status_reason=BREAKER_REASON, stopped_at=now, finished_at=now)
        raise Ended()
    raise hooks.RollBack(BREAKER_REASON)


def alarm_watch(ctx):
    """Under the `alarm` outcome the alarm goes off one step after the new revision takes all traffic."""
    if ctx.settings.outcome != "alarm":
        return
    yield clock.Wait(ctx.step)
    name = ctx.settings.alarm_name
    ctx.sd.alarms.update(status="TRIGGERED", triggeredAlarmNames=[name])
    raise hooks.RollBack(f"ECS deployment alarm {name} is in ALARM state.")


def shift_test_traffic(ctx):
    _weights(ctx, target=ctx.sd.target.production_weight or 0, test=100)
    ctx.sd.touch()


def shift_production_traffic(ctx, percent):
    _weights(ctx, target=percent, test=100)
    rollout.event(ctx.service, f"shifted {percent:g}% of production traffic to the new revision.")
    ctx.sd.touch()


def finish(ctx):
    """CLEAN_UP: the old revisions drain and the deployment is SUCCESSFUL."""
    ctx.sd.touch(lifecycle_stage="CLEAN_UP")
    rollout.complete(ctx.service, ctx.dep)
    for monitor in (ctx.sd.circuit_breaker, ctx.sd.alarms):
        if monitor["status"] == "MONITORING":
            monitor["status"] = "MONITORING_COMPLETE"
    ctx.sd.touch(status="SUCCESSFUL", status_reason=None, finished_at=clock.now())


def roll_back(ctx, reason):
    """ECS's rollback, exactly once: back to the source revision, whose tasks still run."""
    hooks.abandon(ctx)
    now = clock.now()
    ctx.sd.touch(status="ROLLBACK_REQUESTED", status_reason=reason)
    ctx.sd.rollback = {"reason": reason, "startedAt": now, "serviceRevisionArn": ctx.source_arn}
    if ctx.dep in ctx.service.deployments:
        ctx.dep.update(rolloutState="FAILED", rolloutStateReason=reason)
    ctx.back = rollout.roll_back(ctx.service, ctx.dep, ctx.previous, ctx.source_arn)
    if ctx.traffic:
        _weights(ctx, target=0, test=0)
    yield clock.Wait(ctx.step)
    ctx.sd.touch(status="ROLLBACK_IN_PROGRESS")
    yield clock.Wait(ctx.step)
    if ctx.settings.outcome == "rollback-fail":
        why = "tasks of the previous revision failed to start"
        rollout.mark_failed(ctx.service, ctx.back, f"ECS deployment {ctx.back['id']} rollback failed.", why)
        ctx.sd.touch(status="ROLLBACK_FAILED", status_reason=f"Rollback failed: {why}.", finished_at=clock.now())
        return
    rollout.complete(ctx.service, ctx.back)
    ctx.sd.touch(status="ROLLBACK_SUCCESSFUL", finished_at=clock.now())


def abort(ctx, reason):
    """StopServiceDeployment(ABORT): ECS stops launching tasks and leaves the service as it is."""
    hooks.abandon(ctx)
    ctx.sd.touch(status="STOP_REQUESTED", status_reason=reason)
    yield clock.Wait(ctx.step)
    if ctx.dep in ctx.service.deployments:
        rollout.mark_failed(ctx.service, ctx.dep, f"ECS deployment {ctx.dep['id']} stopped.", "stopped by request")
    now = clock.now()
    ctx.sd.touch(status="STOPPED", stopped_at=now, finished_at=now)
