"""Simulated time. Rollouts advance lazily, whenever something reads them, so every change is applied
at the moment it was due: the thread-local due time stamps events and timestamps as ECS would have."""

import contextlib
import datetime
import threading
import time

from moto.core.utils import utcnow

# moto_server serves requests on threads; rollouts advance on reads, so serialise them.
LOCK = threading.RLock()

# Server-wide defaults, set from the command line (see __main__); service tags override them.
DEFAULTS = {"step_ms": 1000, "minute_ms": 60_000}

_due = threading.local()


def mono():
    return time.monotonic()


def wall(at):
    """The wall-clock (naive UTC, as moto keeps it) time of a monotonic instant."""
    return utcnow() - datetime.timedelta(seconds=time.monotonic() - at)


def now():
    """The time a change happens: the due time of the step being applied, else the present."""
    return getattr(_due, "at", None) or utcnow()


@contextlib.contextmanager
def due(at):
    _due.at = wall(at)
    try:
        yield
    finally:
        _due.at = None


class Wait:
    """A script's command: resume `seconds` after the step that yields it was due."""

    def __init__(self, seconds):
        self.seconds = max(seconds, 0)


class Forever:
    """A script's command: never resume by itself (a hung rollout); only a stop replaces it."""
