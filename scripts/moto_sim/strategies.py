"""The rollout script of each deployment strategy, as a sequence of ECS lifecycle stages:

  ROLLING     PRE_SCALE_UP, SCALE_UP (one task a step), POST_SCALE_UP, CLEAN_UP; no traffic weights,
              and no stage holds beyond its own work, so a rollout of N tasks takes N + 1 steps.
  BLUE_GREEN  PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT (test traffic 0 -> 100),
              POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT (0 -> 100 at once),
              POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (bakeTimeInMinutes), CLEAN_UP.
  LINEAR      as BLUE_GREEN, but production traffic moves in steps of stepPercent (default 10),
              baking stepBakeTimeInMinutes (default 6) between steps, not after reaching 100.
  CANARY      as BLUE_GREEN, but production traffic moves to canaryPercent (default 5), bakes
              canaryBakeTimeInMinutes (default 10), then moves to 100.

RECONCILE_SERVICE comes first when more than one revision was running (an update during a
rollout). Each stage of the traffic strategies lasts one step after its hooks pass; PRODUCTION_TRAFFIC_SHIFT
runs its hooks at every traffic step, as ECS documents.
"""

from . import clock, phases

LINEAR_STEP_PERCENT, LINEAR_STEP_BAKE_MINUTES = 10.0, 6
CANARY_PERCENT, CANARY_BAKE_MINUTES = 5.0, 10


def _begin(ctx):
    yield clock.Wait(ctx.step)  # PENDING until the first step
    phases.start(ctx)
    if len(ctx.sd.sources) > 1:
        yield from phases.stage(ctx, "RECONCILE_SERVICE")
        if ctx.traffic:
            yield clock.Wait(ctx.step)


def rolling(ctx):
    yield from _begin(ctx)
    yield from phases.stage(ctx, "PRE_SCALE_UP")
    yield from phases.scale_up(ctx)
    yield from phases.alarm_watch(ctx)
    yield clock.Wait(ctx.step)
    yield from phases.stage(ctx, "POST_SCALE_UP")
    phases.finish(ctx)


def _production_shifts(ctx):
    """(percent, minutes to bake after it) for each production traffic step."""
    config = ctx.sd.configuration or {}
    if ctx.strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = linear.get("stepPercent") or LINEAR_STEP_PERCENT
        bake = linear.get("stepBakeTimeInMinutes")
        bake = LINEAR_STEP_BAKE_MINUTES if bake is None else bake
        shifts, percent = [], 0.0
        while percent < 100:
            percent = min(100.0, round(percent + step, 1))
            shifts.append((percent, bake if percent < 100 else 0))
        return shifts
    if ctx.strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        bake = canary.get("canaryBakeTimeInMinutes")
        bake = CANARY_BAKE_MINUTES if bake is None else bake
        return [(canary.get("canaryPercent") or CANARY_PERCENT, bake), (100.0, 0)]
    return [(100.0, 0)]


def traffic(ctx):
    """BLUE_GREEN, LINEAR and CANARY: the new revision scales up fully, then takes over traffic."""
    step = ctx.step
    yield from _begin(ctx)
    yield from phases.stage(ctx, "PRE_SCALE_UP")
    yield clock.Wait(step)
    yield from phases.scale_up(ctx)
    yield clock.Wait(step)
    yield from phases.stage(ctx, "POST_SCALE_UP")
    yield clock.Wait(step)
    ctx.sd.touch(lifecycle_stage="TEST_TRAFFIC_SHIFT")
    phases.shift_test_traffic(ctx)
    yield from phases.stage(ctx, "TEST_TRAFFIC_SHIFT")
    yield clock.Wait(step)
    yield from phases.stage(ctx, "POST_TEST_TRAFFIC_SHIFT")
    yield clock.Wait(step)
    for percent, bake_minutes in _production_shifts(ctx):
        ctx.sd.touch(lifecycle_stage="PRODUCTION_TRAFFIC_SHIFT")
        phases.shift_production_traffic(ctx, percent)
        yield from phases.stage(ctx, "PRODUCTION_TRAFFIC_SHIFT")
        yield clock.Wait(ctx.settings.minutes(bake_minutes) if percent < 100 else step)
    yield from phases.stage(ctx, "POST_PRODUCTION_TRAFFIC_SHIFT")
    yield clock.Wait(step)
    yield from phases.stage(ctx, "BAKE_TIME")
    yield from phases.alarm_watch(ctx)
    yield clock.Wait(ctx.settings.minutes((ctx.sd.configuration or {}).get("bakeTimeInMinutes")))
    ctx.sd.touch(lifecycle_stage="CLEAN_UP")
    yield clock.Wait(step)
    phases.finish(ctx)


def script(ctx):
    return rolling(ctx) if ctx.strategy == "ROLLING" else traffic(ctx)
