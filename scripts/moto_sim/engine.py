"""Drives rollout scripts through simulated time. Nothing runs in the background: whenever a service
or its deployments are read, the runner replays every step that has fallen due since, each at its due
time, so a deployment nobody watched reads exactly as if it had advanced on time.
"""

import copy

from . import clock, hooks, phases, rollout, service_deployments, settings, strategies


class Runner:
    def __init__(self, ctx, script):
        self.ctx = ctx
        self.gen = script
        self.at = clock.mono()
        self.wake = None
        self.waiting = None
        self.done = False
        ctx.runner = self
        ctx.sd.runner = self
        self._resume(self.at, None)

    def advance(self):
        self._catch_up()
        if not self.done:
            sync_counts(self.ctx)

    def _catch_up(self):
        while not self.done:
            hook = self.waiting
            if hook is not None:
                if hook.decision is not None:
                    at = max(self.at, hook.decided_at)
                elif clock.mono() >= hook.expires_mono:
                    at = hook.expires_mono
                    with clock.due(at):
                        hook.time_out()
                else:
                    return
                value = hook.decision
            elif self.wake is not None and clock.mono() >= self.wake:
                at, value = self.wake, None
            else:
                return
            self._resume(at, value)

    def _resume(self, at, value):
        self.wake = self.waiting = None
        self.at = at
        with clock.due(at):
            command = self._send(value)
        if command is None:
            self.done = True
            self._freeze()
        elif isinstance(command, clock.Wait):
            self.wake = at + command.seconds
        elif isinstance(command, hooks.Await):
            self.waiting = command.hook

    def _send(self, value):
        """The script's next command, or None once it has ended; a RollBack turns it into a rollback."""
        while True:
            try:
                return self.gen.send(value)
            except (StopIteration, phases.Ended):
                return None
            except hooks.RollBack as back:
                self.gen, value = phases.roll_back(self.ctx, back.reason), None

    def _replace(self, script):
        self.gen.close()
        self.gen = script
        self._resume(clock.mono(), None)

    def _freeze(self):
        """A finished deployment keeps the counts it ended with."""
        sync_counts(self.ctx)

    # Requests through the API, after advance() has brought the rollout up to now.

    def stop(self, stop_type):
        sd = self.ctx.sd
        if sd.status in ("STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
            return  # already stopping or rolling back; ECS carries on with that
        if stop_type == "ABORT":
            self._replace(phases.abort(self.ctx, "Service deployment stopped by StopServiceDeployment (ABORT)."))
        else:
            reason = "Service deployment rolled back by StopServiceDeployment (ROLLBACK)."
            self._replace(phases.roll_back(self.ctx, reason))

    def decide(self, hook, action):
        hook.decide(action, clock.mono())
        self.advance()

    def supersede(self, by_arn):
        """A newer update replaces this rollout where it stands, as ECS does."""
        self.advance()
        if self.done:
            return
        self.gen.close()
        self.done = True
        hooks.abandon(self.ctx)
        now = clock.now()
        reason = f"Service deployment was superseded by {by_arn}."
        self.ctx.sd.touch(status="STOPPED", status_reason=reason, stopped_at=now, finished_at=now)
        self._freeze()


def sync_counts(ctx):
    """The service deployment's task counts, read from the `deployments[]` entries of each revision."""
    sd = ctx.sd
    for summary in [sd.target, *sd.sources]:
        deps = [d for d in ctx.service.deployments if d.get("_revision") == summary.arn]
        summary.requested = sum(d["desiredCount"] for d in deps)
        summary.running = sum(d["runningCount"] for d in deps)
        summary.pending = sum(d["pendingCount"] for d in deps)


def advance(service):
    runner = getattr(service, "_sim_runner", None)
    if runner is not None:
        runner.advance()


def advance_all(backend):
    for service in list(backend.services.values()):
        advance(service)


def _configuration(service):
    return copy.deepcopy(getattr(service, "deployment_configuration", None) or {})


def record_created(backend, service):
    """CreateService's service deployment: the first revision, running at once (moto starts no tasks)."""
    for dep in service.deployments:
        rollout.complete(service, dep)
    if service.deployment_controller.get("type", "ECS") != "ECS" or not service.task_definition:
        return  # CODE_DEPLOY and EXTERNAL services deploy through other APIs and have no service deployments
    dep = service.deployments[0]
    revision = service_deployments.new_revision(backend, service, dep["id"])
    dep["_revision"] = revision.arn
    target = service_deployments.RevisionSummary(revision.arn, dep["desiredCount"], dep["runningCount"], 0)
    sd = service_deployments.new_deployment(backend, service, target, [], _configuration(service))
    sd.touch(status="SUCCESSFUL", started_at=sd.created_at, finished_at=sd.created_at, lifecycle_stage="CLEAN_UP")


def start_rollout(backend, service, previous):
    """UpdateService with a new revision (or forceNewDeployment): a new service deployment and a new
    PRIMARY deployment, advanced from now on by the strategy's script."""
    configuration = _configuration(service)
    alarms = configuration.get("alarms") or {}
    chosen = settings.take(service, alarms.get("alarmNames") or [])
    current = getattr(service, "_sim_runner", None)
    primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
    source_arn = primary.get("_revision") if primary else None
    sources = []
    for dep in sorted(service.deployments, key=lambda d: d is not primary):  # the primary's revision first
        arn = dep.get("_revision")
        if arn and arn not in [s.arn for s in sources] and (dep["runningCount"] > 0 or dep is primary):
            sources.append(service_deployments.RevisionSummary(arn))
    dep_id = rollout.new_id()
    revision = service_deployments.new_revision(backend, service, dep_id)
    target = service_deployments.RevisionSummary(revision.arn)
    sd = service_deployments.new_deployment(backend, service, target, sources, configuration)
    if current is not None:
        current.supersede(sd.arn)
    dep = rollout.begin(service, revision.arn, dep_id)
    ctx = phases.Ctx(backend, service, sd, dep, chosen, previous, source_arn)
    phases.prepare(ctx)
    sync_counts(ctx)
    service._sim_runner = Runner(ctx, strategies.script(ctx))
    sync_counts(ctx)
    return sd
