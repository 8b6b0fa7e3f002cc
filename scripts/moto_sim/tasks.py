"""Stopped tasks of failed rollouts, so that ListTasks/DescribeTasks show why a rollout failed."""

import uuid

from . import clock


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
    """A stopped task, with just what moto's list_tasks/describe_tasks read."""

    def __init__(self, backend, service, task_definition_arn, started_by):
        self.id = uuid.uuid4().hex
        self.cluster_name = service.cluster_name
        self.cluster_arn = service.cluster_arn
        self.task_arn = f"{service.cluster_arn.replace(':cluster/', ':task/')}/{self.id}"
        self.task_definition_arn = task_definition_arn
        self.container_instance_arn = None
        self.started_by = started_by
        self.group = f"service:{service.name}"
        self.launch_type = service.launch_type
        self.desired_status = self.last_status = "STOPPED"
        self.stop_code = "EssentialContainerExited"
        self.stopped_reason = "Essential container in task exited"
        self.created_at = self.started_at = self.stopped_at = clock.now()
        self.tags = []
        definition = backend.describe_task_definition(task_definition_arn)
        self.containers = [SimContainer(self.task_arn, c) for c in definition.container_definitions]

    def advance(self):
        """moto's describe_tasks advances its task state machine; ours has already stopped."""


def record_failed(backend, service, deployment):
    """A task of `deployment` that started and exited; returns it."""
    task = SimTask(backend, service, deployment["taskDefinition"], deployment["id"])
    backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
    return task
