"""moto_server with ECS rollouts that behave like real ECS.

Usage: .tools/venv/bin/python scripts/moto_sim.py --host 127.0.0.1 --port 5000 [--step-ms 1000]

moto's ECS never progresses a service: update_service adds no deployment and nothing
ever fails. This wraps a few backend methods so that an update creates a new PRIMARY
deployment that advances with time, lazily, whenever the service is read.

The outcome of the next rollout is chosen through the real ECS API, by tagging the service:
  sim:next-rollout = succeed (default) | fail | rollback | hang
  sim:step-ms      = milliseconds per step (default --step-ms)
Both tags are consumed when the rollout starts, so a later rollback update succeeds.
"""

import argparse
import datetime
import inspect
import threading
import time
import uuid

from moto import server
from moto.core.utils import utcnow
from moto.ecs.exceptions import (
    EcsClientException,
    InvalidParameterException,
    TaskDefinitionNotFoundException,
)
from moto.ecs.models import EC2ContainerServiceBackend as Backend
from moto.moto_api._internal import mock_random

OUTCOME_TAG = "sim:next-rollout"
STEP_TAG = "sim:step-ms"
OUTCOMES = ("succeed", "fail", "rollback", "hang")
# ECS's circuit breaker trips after at least 3 failed tasks.
FAIL_AFTER = 3
STEP_MS = 1000
# moto_server serves requests on threads; rollouts advance on reads, so serialise them.
LOCK = threading.RLock()

_orig = {
    name: getattr(Backend, name)
    for name in (
        "create_service",
        "update_service",
        "describe_services",
        "describe_task_definition",
        "list_tasks",
        "describe_tasks",
    )
}


class SimContainer:
    """The fields of a container that a person reads when a task stopped."""

    def __init__(self, task_arn, definition):
        self.container_arn = f"{task_arn}/{uuid.uuid4()}"
        self.task_arn = task_arn
        self.name = definition.get("name")
        self.image = definition.get("image")
        self.last_status = "STOPPED"
        self.exit_code = 1 if definition.get("essential", True) else 0


class SimTask:
    """A stopped task of a failed rollout, with just what moto's list_tasks/describe_tasks read."""

    def __init__(self, backend, service, deployment):
        self.id = uuid.uuid4().hex
        self.cluster_name = service.cluster_name
        self.cluster_arn = service.cluster_arn
        self.task_arn = f"{service.cluster_arn.replace(':cluster/', ':task/')}/{self.id}"
        self.task_definition_arn = deployment["taskDefinition"]
        self.container_instance_arn = None
        self.started_by = deployment["id"]
        self.group = f"service:{service.name}"
        self.launch_type = service.launch_type
        self.desired_status = self.last_status = "STOPPED"
        self.stop_code = "EssentialContainerExited"
        self.stopped_reason = "Essential container in task exited"
        self.created_at = self.started_at = self.stopped_at = utcnow()
        self.tags = []
        definition = backend.describe_task_definition(self.task_definition_arn)
        self.containers = [SimContainer(self.task_arn, c) for c in definition.container_definitions]

    def advance(self):
        """moto's describe_tasks advances its task state machine; ours has already stopped."""


# While a lazily applied step runs, the wall-clock time it was due; events carry it, as real ECS would have
# reported them then. Benchmarks measure detection latency against it.
_due = threading.local()


def _now():
    return getattr(_due, "at", None) or utcnow()


def _event(service, message):
    # Real ECS lists events newest first.
    text = f"(service {service.name}) {message}"
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _now(), "message": text})


def _deployment(service, task_definition, running):
    dep_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
    desired = service.desired_count
    primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), {})
    return {
        **primary,
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": desired - running,
        "failedTasks": 0,
        "createdAt": utcnow(),
        "updatedAt": utcnow(),
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
    }


def _sync_counts(service):
    service.running_count = sum(d["runningCount"] for d in service.deployments)
    service.pending_count = sum(d["pendingCount"] for d in service.deployments)


def _complete(service, dep, sim):
    dep.update(runningCount=dep["desiredCount"], pendingCount=0, updatedAt=_now())
    dep.update(
        rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {dep['id']} completed."
    )
    service.deployments = [dep]  # the old deployments have drained
    _event(service, "has reached a steady state.")
    sim["done"] = True


def _start_task(service, dep, running):
    dep.update(runningCount=running, pendingCount=dep["desiredCount"] - running, updatedAt=_now())
    _event(service, f"has started 1 tasks: (task {uuid.uuid4().hex}).")


def _fail_task(backend, service, dep, step, sim):
    task = SimTask(backend, service, dep)
    backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
    dep.update(failedTasks=step, updatedAt=_now())
    _event(service, f"has started 1 tasks: (task {task.id}).")
    if step < FAIL_AFTER:
        return
    dep.update(pendingCount=0, rolloutState="FAILED")
    dep["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
    _event(service, f"(deployment {dep['id']}) deployment failed: tasks failed to start.")
    sim["done"] = True
    if sim["outcome"] == "rollback":
        # The circuit breaker replaces the failed deployment with one on the previous revision;
        # the old tasks still run, so it completes on the next step.
        old_running = sum(d["runningCount"] for d in service.deployments if d is not dep)
        back = _deployment(service, sim["previous"], min(old_running, service.desired_count))
        service.deployments = [back]
        service.task_definition = sim["previous"]
        _event(service, f"rolling back to deployment {back['id']}.")
        sim.update(deployment=back["id"], outcome="succeed", done=False)


def _step(backend, service, sim, step):
    dep = next((d for d in service.deployments if d["id"] == sim["deployment"]), None)
    if dep is None:
        sim["done"] = True
        return
    desired = dep["desiredCount"]
    outcome = sim["outcome"]
    if outcome in ("fail", "rollback"):
        _fail_task(backend, service, dep, step, sim)
    elif dep["runningCount"] < desired - (1 if outcome == "hang" else 0):
        _start_task(service, dep, dep["runningCount"] + 1)
    elif outcome == "succeed":
        _complete(service, dep, sim)
    _sync_counts(service)


def _advance(backend, service):
    sim = getattr(service, "_sim", None)
    while sim and not sim["done"]:
        if time.monotonic() < sim["next_at"]:
            return
        _due.at = utcnow() - datetime.timedelta(seconds=time.monotonic() - sim["next_at"])
        sim["steps"] += 1
        sim["next_at"] += sim["step_s"]
        try:
            _step(backend, service, sim, sim["steps"])
        finally:
            _due.at = None


def _take_rollout_tags(service):
    tags = {t["key"]: t["value"] for t in service.tags}
    outcome = tags.get(OUTCOME_TAG, "succeed")
    if outcome not in OUTCOMES:
        raise InvalidParameterException(f"tag {OUTCOME_TAG} must be one of {', '.join(OUTCOMES)}")
    try:
        step_ms = int(tags.get(STEP_TAG, STEP_MS))
    except ValueError:
        raise InvalidParameterException(f"tag {STEP_TAG} must be a number of milliseconds")
    service.tags = [t for t in service.tags if t["key"] not in (OUTCOME_TAG, STEP_TAG)]
    return outcome, max(step_ms, 1) / 1000


def _start_rollout(service, previous):
    outcome, step_s = _take_rollout_tags(service)
    for d in service.deployments:
        d["status"] = "ACTIVE"
    dep = _deployment(service, service.task_definition, 0)
    service.deployments.insert(0, dep)
    service._sim = {
        "deployment": dep["id"],
        "outcome": outcome,
        "previous": previous,
        "step_s": step_s,
        "next_at": time.monotonic() + step_s,
        "steps": 0,
        "done": False,
    }
    _sync_counts(service)


def create_service(self, *args, **kwargs):
    # A new service counts as stable at once (moto would read MOTO_ECS_SERVICE_RUNNING instead).
    service = _orig["create_service"](self, *args, **kwargs)
    with LOCK:
        for dep in service.deployments:
            _complete(service, dep, {})
        _sync_counts(service)
    return service


def update_service(self, service_properties):
    props = dict(service_properties)  # moto pops from the dict it is given
    with LOCK:
        service = self._get_service(
            props.get("cluster", "default"), props["service"].split("/")[-1]
        )
        _advance(self, service)
        previous = service.task_definition
        definition = props.get("task_definition") and self.describe_task_definition(
            props["task_definition"]
        )
        if definition and definition.status == "INACTIVE":
            raise EcsClientException("TaskDefinition is inactive")
        service = _orig["update_service"](self, service_properties)
        if definition:
            service.task_definition = definition.arn  # moto keeps the string as given; ECS the ARN
            if definition.arn != previous:
                _start_rollout(service, previous)
                return service
        sim = getattr(service, "_sim", None)
        if props.get("desired_count") is not None and (not sim or sim["done"]):
            # A scale-only update: moto sets the service's counts but not its deployment's.
            for dep in service.deployments:
                dep.update(desiredCount=service.desired_count, runningCount=service.desired_count)
                dep.update(pendingCount=0)
            _sync_counts(service)
        return service


def describe_services(self, cluster_str, service_names_or_arns):
    with LOCK:
        services, failures = _orig["describe_services"](self, cluster_str, service_names_or_arns)
        for service in services:
            _advance(self, service)
        return services, failures


def describe_task_definition(self, task_definition_str):
    # ECS resolves a bare family to its latest ACTIVE revision; moto takes the highest of any status.
    family = task_definition_str.split("/")[-1]
    if ":" in family:
        return _orig["describe_task_definition"](self, task_definition_str)
    active = [r for r, d in self.task_definitions.get(family, {}).items() if d.status == "ACTIVE"]
    if not active:
        raise TaskDefinitionNotFoundException()
    return self.task_definitions[family][max(active)]


def _advance_all(backend):
    with LOCK:
        for service in list(backend.services.values()):
            _advance(backend, service)


def list_tasks(self, *args, **kwargs):
    _advance_all(self)
    tasks = _orig["list_tasks"](self, *args, **kwargs)
    # moto ignores serviceName; a service's tasks carry the group "service:<name>".
    bound = inspect.signature(_orig["list_tasks"]).bind(self, *args, **kwargs)
    service_name = bound.arguments.get("service_name")
    if service_name:
        tasks = [t for t in tasks if t.group == f"service:{service_name.split('/')[-1]}"]
    return tasks


def describe_tasks(self, cluster_str, tasks):
    _advance_all(self)
    return _orig["describe_tasks"](self, cluster_str, tasks)


def install(step_ms):
    global STEP_MS
    STEP_MS = step_ms
    for name in _orig:
        setattr(Backend, name, globals()[name])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--step-ms", type=int, default=STEP_MS, help="default time per rollout step"
    )
    args = parser.parse_args()
    install(args.step_ms)
    server.main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
