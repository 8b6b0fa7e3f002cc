"""Service deployments and service revisions (the ECS API of late 2024-2025): the records, and the
backend side of ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
StopServiceDeployment and ContinueServiceDeployment. moto implements none of them.

A record is plain data shaped like the API; what moves it along is the runner of its rollout
(engine.Runner), reached through `deployment.runner` so that this module does not drive time.
"""

import base64
import copy
import datetime
import string

from moto.core.exceptions import ServiceException
from moto.ecs.exceptions import EcsClientException, InvalidParameterException
from moto.moto_api._internal import mock_random

from . import clock

ACTIVE_STATUSES = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
STATUSES = ACTIVE_STATUSES + ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
MAX_DESCRIBE = 20
DEFAULT_PAGE, MAX_PAGE = 20, 100


# moto finds an error's service model from the module of its class ("moto.<service>..."); this
# package's name starts with "moto" too, so name the module moto serves ECS errors from.
class ServiceDeploymentNotFoundException(ServiceException):
    __module__ = "moto.ecs.exceptions"
    code = "ServiceDeploymentNotFoundException"


class ConflictException(ServiceException):
    __module__ = "moto.ecs.exceptions"
    code = "ConflictException"


def _compact(d):
    return {k: v for k, v in d.items() if v is not None}


class ServiceRevision:
    """What a service runs at one deployment: the task definition and its environment, frozen."""

    def __init__(self, backend, service, revision_id):
        self.arn = _arn(service, "service-revision", revision_id)
        self.service_arn = service.arn
        self.cluster_arn = service.cluster_arn
        self.task_definition = service.task_definition
        self.launch_type = service.launch_type
        self.platform_version = service.platform_version
        self.load_balancers = copy.deepcopy(service.load_balancers)
        self.service_registries = copy.deepcopy(service.service_registries)
        self.network_configuration = copy.deepcopy(service.network_configuration) or None
        self.created_at = clock.now()
        definition = backend.describe_task_definition(service.task_definition)
        self.container_images = [
            {"containerName": c.get("name"), "image": c.get("image")} for c in definition.container_definitions
        ]

    def describe(self):
        return _compact(
            {
                "serviceRevisionArn": self.arn,
                "serviceArn": self.service_arn,
                "clusterArn": self.cluster_arn,
                "taskDefinition": self.task_definition,
                "launchType": self.launch_type,
                "platformVersion": self.platform_version,
                "platformFamily": "Linux" if self.launch_type == "FARGATE" else None,
                "loadBalancers": self.load_balancers,
                "serviceRegistries": self.service_registries,
                "networkConfiguration": self.network_configuration,
                "containerImages": self.container_images,
                "guardDutyEnabled": False,
                "createdAt": self.created_at,
            }
        )


class RevisionSummary:
    """A revision's part in a deployment: its task counts and the traffic it is asked to carry."""

    def __init__(self, arn, requested=0, running=0, pending=0):
        self.arn = arn
        self.requested, self.running, self.pending = requested, running, pending
        self.test_weight = self.production_weight = None

    def describe(self):
        return _compact(
            {
                "arn": self.arn,
                "requestedTaskCount": self.requested,
                "runningTaskCount": self.running,
                "pendingTaskCount": self.pending,
                "requestedTestTrafficWeight": self.test_weight,
                "requestedProductionTrafficWeight": self.production_weight,
            }
        )


class ServiceDeployment:
    def __init__(self, service, target, sources, configuration):
        self.arn = _arn(service, "service-deployment", _deployment_id())
        self.service_arn = service.arn
        self.cluster_arn = service.cluster_arn
        self.created_at = self.updated_at = clock.now()
        self.started_at = self.finished_at = self.stopped_at = None
        self.status = "PENDING"
        self.status_reason = None
        self.lifecycle_stage = None
        self.hooks = []
        self.configuration = copy.deepcopy(configuration)
        self.rollback = None
        self.circuit_breaker = {"status": "DISABLED", "failureCount": 0, "threshold": 0}
        self.alarms = {"status": "DISABLED", "alarmNames": [], "triggeredAlarmNames": []}
        self.target = target
        self.sources = sources
        self.runner = None

    @property
    def active(self):
        return self.status in ACTIVE_STATUSES

    def touch(self, **fields):
        for name, value in fields.items():
            setattr(self, name, value)
        self.updated_at = clock.now()

    def brief(self):
        return _compact(
            {
                "serviceDeploymentArn": self.arn,
                "serviceArn": self.service_arn,
                "clusterArn": self.cluster_arn,
                "startedAt": self.started_at,
                "createdAt": self.created_at,
                "finishedAt": self.finished_at,
                "targetServiceRevisionArn": self.target.arn,
                "status": self.status,
                "statusReason": self.status_reason,
            }
        )

    def describe(self):
        return _compact(
            {
                "serviceDeploymentArn": self.arn,
                "serviceArn": self.service_arn,
                "clusterArn": self.cluster_arn,
                "createdAt": self.created_at,
                "startedAt": self.started_at,
                "finishedAt": self.finished_at,
                "stoppedAt": self.stopped_at,
                "updatedAt": self.updated_at,
                "sourceServiceRevisions": [s.describe() for s in self.sources],
                "targetServiceRevision": self.target.describe(),
                "status": self.status,
                "statusReason": self.status_reason,
                "lifecycleStage": self.lifecycle_stage,
                "lifecycleHookDetails": [h.describe() for h in self.hooks] or None,
                "deploymentConfiguration": self.configuration or None,
                "rollback": self.rollback,
                "deploymentCircuitBreaker": self.circuit_breaker,
                "alarms": self.alarms,
            }
        )


def _deployment_id():
    alphabet = string.ascii_letters + string.digits
    return "".join(mock_random.choice(alphabet) for _ in range(21))


def _arn(service, kind, resource_id):
    # arn:<partition>:ecs:<region>:<account>:<kind>/<cluster>/<service>/<id>
    prefix = service.arn.split(":service/")[0]
    return f"{prefix}:{kind}/{service.cluster_name}/{service.name}/{resource_id}"


class Registry:
    """Every service deployment and revision of one backend (account and region); moto's reset drops it."""

    def __init__(self):
        self.deployments = {}
        self.revisions = {}
        self.by_service = {}

    def add(self, deployment):
        self.deployments[deployment.arn] = deployment
        self.by_service.setdefault(deployment.service_arn, []).append(deployment)

    def latest(self, service):
        found = self.by_service.get(service.arn)
        return found[-1] if found else None


def registry(backend):
    if not hasattr(backend, "_sim_registry"):
        backend._sim_registry = Registry()
    return backend._sim_registry


def new_revision(backend, service, deployment_id):
    """The revision a deployment rolls out; its id is the number of the `deployments[]` id."""
    revision = ServiceRevision(backend, service, deployment_id.split("/")[-1])
    registry(backend).revisions[revision.arn] = revision
    return revision


def new_deployment(backend, service, target, sources, configuration):
    deployment = ServiceDeployment(service, target, sources, configuration)
    registry(backend).add(deployment)
    service._sim_current = deployment.arn
    return deployment


# The operations. `advance(service)` brings a service's rollout up to now before it is read.


def _resolve_service(backend, cluster, service):
    if cluster is None and service.startswith("arn:") and service.count("/") >= 2:
        cluster = service.split("/")[-2]  # the long ARN names the cluster
    return backend._get_service(cluster or "default", service.split("/")[-1])


def _timestamp(value, field):
    if value is None or isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None) if value and value.tzinfo else value
    try:
        return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError):
        raise InvalidParameterException(f"createdAt.{field} must be a timestamp; got {value!r}")


def _page_token(token, total):
    if token is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("sim:"))
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if not 0 <= offset <= total:
        raise InvalidParameterException("nextToken is not a token that ListServiceDeployments returned")
    return offset


def list_deployments(backend, advance, params):
    service_ref = params.get("service")
    if not service_ref:
        raise InvalidParameterException("service is required: the name or ARN of the service")
    service = _resolve_service(backend, params.get("cluster"), service_ref)
    advance(service)
    statuses = params.get("status") or []
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise InvalidParameterException(f"status {unknown[0]!r} is not one of {', '.join(STATUSES)}")
    created = params.get("createdAt") or {}
    before, after = _timestamp(created.get("before"), "before"), _timestamp(created.get("after"), "after")
    limit = params.get("maxResults")
    if limit is None:
        limit = DEFAULT_PAGE
    if not 1 <= int(limit) <= MAX_PAGE:
        raise InvalidParameterException(f"maxResults must be between 1 and {MAX_PAGE}; got {limit}")
    found = [
        d
        for d in reversed(registry(backend).by_service.get(service.arn, []))  # newest first
        if (not statuses or d.status in statuses)
        and (before is None or d.created_at < before)
        and (after is None or d.created_at > after)
    ]
    start = _page_token(params.get("nextToken"), len(found))
    page = found[start : start + int(limit)]
    result = {"serviceDeployments": [d.brief() for d in page]}
    if start + len(page) < len(found):
        result["nextToken"] = base64.urlsafe_b64encode(f"sim:{start + len(page)}".encode()).decode()
    return result


def _check_count(arns, field):
    if not arns:
        raise InvalidParameterException(f"{field} must name at least one ARN")
    if len(arns) > MAX_DESCRIBE:
        raise InvalidParameterException(f"{field} takes at most {MAX_DESCRIBE} ARNs; got {len(arns)}")


def describe_deployments(backend, advance, arns):
    _check_count(arns, "serviceDeploymentArns")
    reg = registry(backend)
    found, failures = [], []
    for arn in arns:
        deployment = reg.deployments.get(arn)
        if deployment is None:
            failures.append({"arn": arn, "reason": "MISSING", "detail": "No service deployment has this ARN."})
            continue
        if deployment.runner is not None:
            deployment.runner.advance()
        found.append(deployment.describe())
    return {"serviceDeployments": found, "failures": failures}


def describe_revisions(backend, arns):
    _check_count(arns, "serviceRevisionArns")
    reg = registry(backend)
    found, failures = [], []
    for arn in arns:
        revision = reg.revisions.get(arn)
        if revision is None:
            failures.append({"arn": arn, "reason": "MISSING", "detail": "No service revision has this ARN."})
        else:
            found.append(revision.describe())
    return {"serviceRevisions": found, "failures": failures}


def _get(backend, arn):
    deployment = registry(backend).deployments.get(arn or "")
    if deployment is None:
        raise ServiceDeploymentNotFoundException(f"Service deployment {arn} was not found.")
    if deployment.runner is not None:
        deployment.runner.advance()
    return deployment


def stop(backend, arn, stop_type):
    stop_type = stop_type or "ROLLBACK"
    if stop_type not in ("ROLLBACK", "ABORT"):
        raise InvalidParameterException(f"stopType must be ROLLBACK or ABORT; got {stop_type!r}")
    deployment = _get(backend, arn)
    if not deployment.active or deployment.runner is None:
        raise ConflictException(
            f"Service deployment {arn} is {deployment.status}; only an ongoing service deployment can be stopped."
        )
    deployment.runner.stop(stop_type)
    return {"serviceDeploymentArn": arn}


def continue_hook(backend, arn, hook_id, action):
    action = action or "CONTINUE"
    if action not in ("CONTINUE", "ROLLBACK"):
        raise InvalidParameterException(f"action must be CONTINUE or ROLLBACK; got {action!r}")
    deployment = _get(backend, arn)
    hook = next((h for h in deployment.hooks if h.hook_id == hook_id), None)
    if hook is None:
        raise InvalidParameterException(f"hookId {hook_id!r} is not a lifecycle hook of service deployment {arn}.")
    if deployment.status != "IN_PROGRESS" or hook.status != "AWAITING_ACTION":
        raise EcsClientException(
            f"Lifecycle hook {hook_id} is {hook.status} and service deployment {arn} is {deployment.status}; "
            "only a PAUSE hook in AWAITING_ACTION of an IN_PROGRESS service deployment can be continued."
        )
    deployment.runner.decide(hook, action)
    return {"serviceDeploymentArn": arn}
