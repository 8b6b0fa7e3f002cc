"""The rolling view of a rollout: the service's `deployments[]` (PRIMARY and ACTIVE, rolloutState,
counts) and its events, as ECS has always shown them. Every strategy keeps this view up to date next
to its service deployment, because clients that predate service deployments read only this.

Each deployment dict carries the ARN of its service revision under "_revision"; moto serializes by
the API shape, so the key never reaches a client.
"""

import uuid

from moto.moto_api._internal import mock_random

from . import clock, tasks


def event(service, message):
    # Real ECS lists events newest first.
    text = f"(service {service.name}) {message}"
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": clock.now(), "message": text})


def sync_counts(service):
    service.running_count = sum(d["runningCount"] for d in service.deployments)
    service.pending_count = sum(d["pendingCount"] for d in service.deployments)


def new_id():
    return f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"


def _deployment(service, base, task_definition, running, revision_arn, dep_id=None):
    """A new PRIMARY deployment; launch type, network and the like carry over from `base`."""
    dep_id = dep_id or new_id()
    desired = service.desired_count
    return {
        **base,
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": desired - running,
        "failedTasks": 0,
        "createdAt": clock.now(),
        "updatedAt": clock.now(),
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
        "_revision": revision_arn,
    }


def begin(service, revision_arn, dep_id):
    """The update's new PRIMARY deployment; the others turn ACTIVE and keep their tasks."""
    base = next((d for d in service.deployments if d["status"] == "PRIMARY"), {})
    for d in service.deployments:
        d["status"] = "ACTIVE"
    dep = _deployment(service, base, service.task_definition, 0, revision_arn, dep_id)
    service.deployments.insert(0, dep)
    sync_counts(service)
    return dep


def start_task(service, dep):
    running = dep["runningCount"] + 1
    dep.update(runningCount=running, pendingCount=dep["desiredCount"] - running, updatedAt=clock.now())
    event(service, f"has started 1 tasks: (task {uuid.uuid4().hex}).")
    sync_counts(service)


def fail_task(backend, service, dep):
    task = tasks.record_failed(backend, service, dep)
    dep.update(failedTasks=dep["failedTasks"] + 1, updatedAt=clock.now())
    event(service, f"has started 1 tasks: (task {task.id}).")


def mark_failed(service, dep, reason, why):
    dep.update(pendingCount=0, rolloutState="FAILED", rolloutStateReason=reason, updatedAt=clock.now())
    event(service, f"(deployment {dep['id']}) deployment failed: {why}.")
    sync_counts(service)


def complete(service, dep):
    dep.update(runningCount=dep["desiredCount"], pendingCount=0, updatedAt=clock.now())
    dep.update(rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {dep['id']} completed.")
    service.deployments = [dep]  # the old deployments have drained
    event(service, "has reached a steady state.")
    sync_counts(service)


def roll_back(service, failed, previous_task_definition, revision_arn):
    """Replaces the failed deployment with one on the previous revision, as ECS's rollback does; the
    old tasks still run, so it starts with them."""
    old_running = sum(d["runningCount"] for d in service.deployments if d is not failed)
    back = _deployment(service, failed, previous_task_definition, min(old_running, service.desired_count), revision_arn)
    service.deployments = [back]
    service.task_definition = previous_task_definition
    event(service, f"rolling back to deployment {back['id']}.")
    sync_counts(service)
    return back
