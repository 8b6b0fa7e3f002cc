"""How the next rollout of a service behaves, chosen through the real ECS API by tagging the service.

The outcome, step and alarm tags are consumed when a rollout starts, so a later update (a rollback)
succeeds at the default pace; `sim:minute-ms` stays, because it says how fast time runs for the service.
"""

from moto.ecs.exceptions import InvalidParameterException

from . import clock

OUTCOME_TAG = "sim:next-rollout"
STEP_TAG = "sim:step-ms"
MINUTE_TAG = "sim:minute-ms"
ALARM_TAG = "sim:alarm-name"
OUTCOMES = ("succeed", "fail", "rollback", "rollback-fail", "alarm", "hang")
# Outcomes where tasks fail to start, so the circuit breaker counts them.
BREAKER_OUTCOMES = ("fail", "rollback", "rollback-fail")
CONSUMED = (OUTCOME_TAG, STEP_TAG, ALARM_TAG)
DEFAULT_ALARM = "sim-deployment-alarm"


class RolloutSettings:
    def __init__(self, outcome, step_s, minute_s, alarm_name):
        self.outcome = outcome
        self.step_s = step_s
        self.minute_s = minute_s
        self.alarm_name = alarm_name

    def minutes(self, count):
        """Seconds of real time that `count` configured minutes last."""
        return (count or 0) * self.minute_s


def _milliseconds(tags, tag, default):
    value = tags.get(tag, default)
    try:
        ms = int(value)
    except (TypeError, ValueError):
        raise InvalidParameterException(f"tag {tag} must be a whole number of milliseconds; got {value!r}")
    if ms < 1:
        raise InvalidParameterException(f"tag {tag} must be at least 1 millisecond; got {ms}")
    return ms / 1000


def take(service, configured_alarms=(), consume=True):
    """Reads the rollout tags of `service` and, with `consume`, removes those one rollout consumes.
    Without it, it only checks them, so that an update with a bad tag changes nothing."""
    tags = {t["key"]: t["value"] for t in service.tags}
    outcome = tags.get(OUTCOME_TAG, "succeed")
    if outcome not in OUTCOMES:
        raise InvalidParameterException(f"tag {OUTCOME_TAG} must be one of {', '.join(OUTCOMES)}; got {outcome!r}")
    step_s = _milliseconds(tags, STEP_TAG, clock.DEFAULTS["step_ms"])
    minute_s = _milliseconds(tags, MINUTE_TAG, clock.DEFAULTS["minute_ms"])
    alarm = tags.get(ALARM_TAG) or next(iter(configured_alarms), None) or DEFAULT_ALARM
    if consume:
        service.tags = [t for t in service.tags if t["key"] not in CONSUMED]
    return RolloutSettings(outcome, step_s, minute_s, alarm)
