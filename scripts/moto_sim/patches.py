"""Where the extension meets moto: wrappers around moto's ECS backend methods, new response handlers
for the service-deployment operations (moto dispatches an X-Amz-Target operation to the snake_case
method of its responses class), and the Service fields moto lacks.
"""

import inspect

from moto.core.responses import ActionResult
from moto.ecs.exceptions import EcsClientException, InvalidParameterException, TaskDefinitionNotFoundException
from moto.ecs.models import EC2ContainerServiceBackend as Backend
from moto.ecs.models import Service
from moto.ecs.responses import EC2ContainerServiceResponse as Responses

from . import clock, engine, service_deployments, settings

_orig = {
    name: getattr(Backend, name)
    for name in (
        "update_service",
        "describe_services",
        "register_task_definition",
        "describe_task_definition",
        "list_tasks",
        "describe_tasks",
        "delete_service",
    )
}
_orig_create_response = Responses.create_service


def update_service(self, service_properties):
    props = dict(service_properties)  # moto pops from the dict it is given
    force = bool(service_properties.pop("force_new_deployment", False))
    with clock.LOCK:
        service = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1])
        engine.advance(service)
        controller = service.deployment_controller.get("type", "ECS")
        if props.get("task_definition") and controller != "ECS":
            raise InvalidParameterException(
                f"Unable to update task definition on services with a {controller} deployment controller. "
                + ("Use AWS CodeDeploy to trigger a new deployment." if controller == "CODE_DEPLOY" else "Use task sets.")
            )
        settings.take(service, consume=False)
        previous = service.task_definition
        definition = props.get("task_definition") and self.describe_task_definition(props["task_definition"])
        if definition and definition.status == "INACTIVE":
            raise EcsClientException("TaskDefinition is inactive")
        service = _orig["update_service"](self, service_properties)
        if definition:
            service.task_definition = definition.arn  # moto keeps the string as given; ECS the ARN
        if controller == "ECS" and ((definition and definition.arn != previous) or force):
            engine.start_rollout(self, service, previous)
            return service
        runner = getattr(service, "_sim_runner", None)
        if props.get("desired_count") is not None and (runner is None or runner.done):
            # A scale-only update: moto sets the service's counts but not its deployment's.
            for dep in service.deployments:
                dep.update(desiredCount=service.desired_count, runningCount=service.desired_count, pendingCount=0)
        return service


def describe_services(self, cluster_str, service_names_or_arns):
    with clock.LOCK:
        services, failures = _orig["describe_services"](self, cluster_str, service_names_or_arns)
        for service in services:
            engine.advance(service)
        return services, failures


def register_task_definition(self, *args, **kwargs):
    definition = _orig["register_task_definition"](self, *args, **kwargs)
    # Under awsvpc and host networking ECS stores each port mapping's hostPort as its containerPort; moto leaves it out.
    if definition.network_mode in ("awsvpc", "host"):
        for container in definition.container_definitions:
            for mapping in container.get("portMappings") or []:
                if "containerPort" in mapping:
                    mapping.setdefault("hostPort", mapping["containerPort"])
    return definition


def describe_task_definition(self, task_definition_str):
    # ECS resolves a bare family to its latest ACTIVE revision; moto takes the highest of any status.
    family = task_definition_str.split("/")[-1]
    if ":" in family:
        return _orig["describe_task_definition"](self, task_definition_str)
    active = [r for r, d in self.task_definitions.get(family, {}).items() if d.status == "ACTIVE"]
    if not active:
        raise TaskDefinitionNotFoundException()
    return self.task_definitions[family][max(active)]


def list_tasks(self, *args, **kwargs):
    with clock.LOCK:
        engine.advance_all(self)
        tasks = _orig["list_tasks"](self, *args, **kwargs)
    # moto ignores serviceName; a service's tasks carry the group "service:<name>".
    bound = inspect.signature(_orig["list_tasks"]).bind(self, *args, **kwargs)
    service_name = bound.arguments.get("service_name")
    if service_name:
        tasks = [t for t in tasks if t.group == f"service:{service_name.split('/')[-1]}"]
    return tasks


def describe_tasks(self, cluster_str, tasks):
    with clock.LOCK:
        engine.advance_all(self)
        return _orig["describe_tasks"](self, cluster_str, tasks)


def delete_service(self, cluster_name, service_name, force):
    with clock.LOCK:
        service = _orig["delete_service"](self, cluster_name, service_name, force)
        # ECS deletes a service's deployments with it.
        registry = service_deployments.registry(self)
        for sd in registry.by_service.pop(service.arn, []):
            registry.deployments.pop(sd.arn, None)
        service._sim_runner = service._sim_current = None
        return service


def _current_revisions(service):
    """currentServiceRevisions: each revision that has tasks, with its counts, from `deployments[]`."""
    found = {}
    for dep in service.deployments:
        arn = dep.get("_revision")
        if arn is None:
            continue
        summary = found.setdefault(arn, {"arn": arn, "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0})
        summary["requestedTaskCount"] += dep["desiredCount"]
        summary["runningTaskCount"] += dep["runningCount"]
        summary["pendingTaskCount"] += dep["pendingCount"]
    return list(found.values()) or None


# Response handlers. Each reads its input as the API names it and answers in the API's output shape.


def create_service(self):
    result = _orig_create_response(self)
    service = result.result["service"]
    with clock.LOCK:
        # moto drops deploymentConfiguration on create; ECS stores it and returns it.
        configuration = self._get_param("deploymentConfiguration")
        if configuration is not None:
            service.deployment_configuration = configuration
        engine.record_created(self.ecs_backend, service)
    return result


def list_service_deployments(self):
    with clock.LOCK:
        return ActionResult(service_deployments.list_deployments(self.ecs_backend, engine.advance, self._get_params()))


def describe_service_deployments(self):
    with clock.LOCK:
        arns = self._get_param("serviceDeploymentArns") or []
        return ActionResult(service_deployments.describe_deployments(self.ecs_backend, engine.advance, arns))


def describe_service_revisions(self):
    with clock.LOCK:
        arns = self._get_param("serviceRevisionArns") or []
        return ActionResult(service_deployments.describe_revisions(self.ecs_backend, arns))


def stop_service_deployment(self):
    with clock.LOCK:
        arn, stop_type = self._get_param("serviceDeploymentArn"), self._get_param("stopType")
        return ActionResult(service_deployments.stop(self.ecs_backend, arn, stop_type))


def continue_service_deployment(self):
    with clock.LOCK:
        arn = self._get_param("serviceDeploymentArn")
        hook_id, action = self._get_param("hookId"), self._get_param("action")
        return ActionResult(service_deployments.continue_hook(self.ecs_backend, arn, hook_id, action))


RESPONSES = (
    create_service,
    list_service_deployments,
    describe_service_deployments,
    describe_service_revisions,
    stop_service_deployment,
    continue_service_deployment,
)


def install():
    for name in _orig:
        setattr(Backend, name, globals()[name])
    for handler in RESPONSES:
        setattr(Responses, handler.__name__, handler)
    Service.current_service_deployment = property(lambda s: getattr(s, "_sim_current", None))
    Service.current_service_revisions = property(_current_revisions)
