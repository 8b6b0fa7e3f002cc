"""Lifecycle hooks of a service deployment. A PAUSE hook waits, AWAITING_ACTION, until
ContinueServiceDeployment answers it or it expires and its timeout action applies (TIMED_OUT). An
AWS_LAMBDA hook cannot run here: it is IN_PROGRESS for one step and then SUCCEEDED.
"""

import base64
import datetime
import os

from . import clock

DEFAULT_TIMEOUT_MINUTES = 1440  # ECS's default, 24 hours
DEFAULT_TIMEOUT_ACTION = "ROLLBACK"


class RollBack(Exception):
    """Raised inside a rollout script: ECS rolls the deployment back, for `reason`."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Await:
    """A script's command: wait until `hook` is answered or expires; resumes with the action taken."""

    def __init__(self, hook):
        self.hook = hook


class Hook:
    def __init__(self, config, stage, at, minute_s):
        timeout = config.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES
        self.target_type = config.get("targetType") or "AWS_LAMBDA"
        prefix = "ecs-pause" if self.target_type == "PAUSE" else "ecs-lambda"
        self.hook_id = f"{prefix}-{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"
        self.target_arn = config.get("hookTargetArn") if self.target_type == "AWS_LAMBDA" else None
        self.stage = stage
        self.status = "AWAITING_ACTION" if self.target_type == "PAUSE" else "IN_PROGRESS"
        self.timeout_action = timeout.get("action") or DEFAULT_TIMEOUT_ACTION
        self.expires_mono = at + minutes * minute_s
        self.expires_at = clock.now() + datetime.timedelta(seconds=minutes * minute_s)
        self.decision = None
        self.decided_at = None

    def decide(self, action, at):
        self.decision, self.decided_at = action, at
        self.status = "SUCCEEDED" if action == "CONTINUE" else "FAILED"

    def time_out(self):
        self.decision, self.decided_at = self.timeout_action, self.expires_mono
        self.status = "TIMED_OUT"
        return self.timeout_action

    def describe(self):
        found = {
            "hookId": self.hook_id,
            "targetType": self.target_type,
            "targetArn": self.target_arn,
            "status": self.status,
            "expiresAt": self.expires_at,
            "timeoutAction": self.timeout_action,
        }
        return {k: v for k, v in found.items() if v is not None}


def configured(configuration, stage):
    return [h for h in (configuration or {}).get("lifecycleHooks") or [] if stage in (h.get("lifecycleStages") or [])]


def run(ctx, stage):
    """Runs the hooks configured for `stage` (a script step); all must pass before the stage goes on."""
    configs = configured(ctx.sd.configuration, stage)
    if not configs:
        return
    started = [Hook(c, stage, ctx.runner.at, ctx.settings.minute_s) for c in configs]
    ctx.sd.hooks.extend(started)
    ctx.sd.touch()
    lambdas = [h for h in started if h.target_type == "AWS_LAMBDA"]
    if lambdas:
        yield clock.Wait(ctx.settings.step_s)
        for hook in lambdas:
            hook.status = "SUCCEEDED"
        ctx.sd.touch()
    for hook in (h for h in started if h.target_type == "PAUSE"):
        action = yield Await(hook)
        ctx.sd.touch()
        if action == "ROLLBACK":
            why = "timed out" if hook.status == "TIMED_OUT" else "was answered with ROLLBACK"
            raise RollBack(f"Lifecycle hook {hook.hook_id} at {stage} {why}.")


def abandon(ctx):
    """Hooks still waiting when the deployment stops or rolls back will never be answered."""
    for hook in ctx.sd.hooks:
        if hook.status in ("AWAITING_ACTION", "IN_PROGRESS"):
            hook.status = "FAILED"
