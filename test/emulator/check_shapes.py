"""Checks every answer the ECS emulator (scripts/moto_sim) gives against botocore's ECS service model.

Usage: .tools/venv/bin/python test/emulator/check_shapes.py --endpoint http://127.0.0.1:PORT

Drives real HTTP calls (boto3) through rollouts of every kind and records the raw JSON of each answer
to CreateService, UpdateService, DescribeServices and the service-deployment operations. Each answer
must use only member names of its output shape, with the shape's types (structure, list, map, string,
integer, double, boolean, timestamp), enum values inside the enum and required members present; each
error must be one the operation declares. Before trusting itself it checks copies of a real answer
with planted faults, each of which it must catch. Prints one JSON report on stdout.
"""

import argparse
import copy
import json
import sys
import time

import boto3
import botocore.session
from botocore.exceptions import ClientError

MODEL = botocore.session.get_session().get_service_model("ecs")
CHECKED_OPERATIONS = (
    "CreateService",
    "UpdateService",
    "DescribeServices",
    "ListServiceDeployments",
    "DescribeServiceDeployments",
    "DescribeServiceRevisions",
    "StopServiceDeployment",
    "ContinueServiceDeployment",
)
ONGOING = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")


def check(shape, value, path, errors):
    """Appends to `errors` every way in which `value` (decoded JSON) does not fit `shape`."""
    kind = shape.type_name
    if value is None:
        errors.append(f"{path}: null where {shape.name} ({kind}) belongs")
    elif kind == "structure":
        if shape.metadata.get("document"):
            return  # a JSON document: any value fits
        if not isinstance(value, dict):
            errors.append(f"{path}: {type(value).__name__} where structure {shape.name} belongs")
            return
        for name, member in value.items():
            if name not in shape.members:
                errors.append(f"{path}.{name}: no member {name!r} in {shape.name}")
            else:
                check(shape.members[name], member, f"{path}.{name}", errors)
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{path}.{name}: required member of {shape.name} missing")
    elif kind == "list":
        if not isinstance(value, list):
            errors.append(f"{path}: {type(value).__name__} where list {shape.name} belongs")
            return
        for i, item in enumerate(value):
            check(shape.member, item, f"{path}[{i}]", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            errors.append(f"{path}: {type(value).__name__} where map {shape.name} belongs")
            return
        for key, item in value.items():
            check(shape.key, key, f"{path}<key>", errors)
            check(shape.value, item, f"{path}[{key!r}]", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: {type(value).__name__} where string {shape.name} belongs")
        elif shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not in enum {shape.name} ({', '.join(shape.enum)})")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: {value!r} where {kind} {shape.name} belongs")
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: {value!r} where {kind} {shape.name} belongs")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: {value!r} where boolean {shape.name} belongs")
    elif kind == "timestamp":
        # The JSON protocol sends timestamps as epoch seconds.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: {value!r} where timestamp {shape.name} (epoch seconds) belongs")
    else:
        errors.append(f"{path}: the checker does not know shape type {kind}")


class Recorder:
    """Keeps the raw body of every answer, as botocore received it."""

    def __init__(self):
        self.answers = []

    def __call__(self, http_response, model, **_):
        body = http_response.content.decode() or "{}"
        self.answers.append((model.name, http_response.status_code, json.loads(body)))


def verify(answers):
    errors, counts = [], {}
    for operation, status, body in answers:
        if operation not in CHECKED_OPERATIONS:
            continue
        op = MODEL.operation_model(operation)
        if status < 300:
            counts[operation] = counts.get(operation, 0) + 1
            check(op.output_shape, body, operation, errors)
            continue
        code = str(body.get("__type", "")).split("#")[-1]
        declared = [e.name for e in op.error_shapes]
        counts[f"{operation}!{code}"] = counts.get(f"{operation}!{code}", 0) + 1
        if code not in declared:
            errors.append(f"{operation}: error {code!r} is not one the operation declares ({', '.join(declared)})")
        if not body.get("message"):
            errors.append(f"{operation}: error {code!r} without a message")
    return counts, errors


def planted_faults(answers):
    """Copies of a real DescribeServiceDeployments answer, each with one fault the check must catch."""
    body = next(b for op, s, b in answers if op == "DescribeServiceDeployments" and s < 300 and b["serviceDeployments"])
    op = MODEL.operation_model("DescribeServiceDeployments")

    def plant(name, change, expect):
        wrong = copy.deepcopy(body)
        change(wrong["serviceDeployments"][0])
        errors = []
        check(op.output_shape, wrong, "DescribeServiceDeployments", errors)
        return {"fault": name, "caught": any(expect in e for e in errors), "errors": errors}

    def drop_required(sd):
        sd["deploymentConfiguration"]["deploymentCircuitBreaker"] = {"enable": True}

    return [
        plant("unknown member", lambda sd: sd.update(deploymentStatus="SUCCESSFUL"), ".deploymentStatus: no member"),
        plant("enum value outside the enum", lambda sd: sd.update(status="FAILED"), "'FAILED' is not in enum"),
        plant("string for an integer", lambda sd: sd["targetServiceRevision"].update(runningTaskCount="2"), "where integer"),
        plant("text timestamp", lambda sd: sd.update(createdAt="2025-01-01T00:00:00Z"), "where timestamp"),
        plant("structure for a list", lambda sd: sd.update(sourceServiceRevisions={}), "where list"),
        plant("required member missing", drop_required, ".rollback: required member"),
    ]


class Drive:
    def __init__(self, endpoint):
        self.ecs = boto3.client(
            "ecs",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        self.recorder = Recorder()
        self.ecs.meta.events.register("after-call.ecs", self.recorder)
        self.cluster = "shapes"

    def call(self, name, **params):
        return getattr(self.ecs, name)(**params)

    def refused(self, name, **params):
        try:
            getattr(self.ecs, name)(**params)
        except ClientError as err:
            return err.response["Error"]["Code"]
        raise AssertionError(f"{name} was expected to be refused")

    def task_definition(self, image):
        container = {"name": "web", "image": image, "memory": 128, "essential": True}
        found = self.call("register_task_definition", family="web", containerDefinitions=[container])
        return found["taskDefinition"]["taskDefinitionArn"]

    def service(self, name, task_definition, configuration=None, tags=(), controller="ECS"):
        params = dict(cluster=self.cluster, serviceName=name, taskDefinition=task_definition, desiredCount=2)
        params.update(launchType="FARGATE", deploymentController={"type": controller})
        if configuration:
            params["deploymentConfiguration"] = configuration
        if tags:
            params["tags"] = [{"key": k, "value": v} for k, v in tags]
        return self.call("create_service", **params)["service"]

    def deploy(self, name, task_definition):
        return self.call("update_service", cluster=self.cluster, service=name, taskDefinition=task_definition)

    def describe(self, arn):
        self.call("describe_services", cluster=self.cluster, services=[arn.split("/")[-2]])
        return self.call("describe_service_deployments", serviceDeploymentArns=[arn])["serviceDeployments"][0]

    def until(self, arn, done, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            found = self.describe(arn)
            if done(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{arn} is still {found['status']} after {timeout} s")
            time.sleep(0.05)


def scenario(d):
    d.call("create_cluster", clusterName=d.cluster)
    first, second = d.task_definition("web:1"), d.task_definition("web:2")
    fast = [("sim:step-ms", "30"), ("sim:minute-ms", "60")]
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    finished = lambda sd: sd["status"] not in ONGOING  # noqa: E731

    # Rolling, to the end; then every read of it.
    d.service("rolling", first, breaker, fast)
    sd = d.deploy("rolling", second)["service"]["currentServiceDeployment"]
    d.until(sd, finished)
    listed = d.call("list_service_deployments", cluster=d.cluster, service="rolling", maxResults=1)
    d.call("list_service_deployments", cluster=d.cluster, service="rolling", nextToken=listed["nextToken"])
    d.call("list_service_deployments", cluster=d.cluster, service="rolling", status=["SUCCESSFUL"])
    ended = d.describe(sd)
    revisions = [ended["targetServiceRevision"]["arn"]] + [s["arn"] for s in ended["sourceServiceRevisions"]]
    d.call("describe_service_revisions", serviceRevisionArns=revisions + [revisions[0] + "0"])
    d.call("describe_service_deployments", serviceDeploymentArns=[sd, sd + "x"])

    # Blue/green with every configuration member, a Lambda hook and a PAUSE hook answered with CONTINUE.
    hooks = [
        {
            "targetType": "AWS_LAMBDA",
            "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:check",
            "roleArn": "arn:aws:iam::123456789012:role/hooks",
            "lifecycleStages": ["PRE_SCALE_UP"],
            "hookDetails": {"suite": "smoke"},
        },
        {
            "targetType": "PAUSE",
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "timeoutConfiguration": {"timeoutInMinutes": 30, "action": "ROLLBACK"},
        },
    ]
    blue_green = {
        **breaker,
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True},
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 1,
        "lifecycleHooks": hooks,
    }
    d.service("blue-green", first, blue_green, fast)
    sd = d.deploy("blue-green", second)["service"]["currentServiceDeployment"]
    waiting = d.until(sd, lambda s: any(h["status"] == "AWAITING_ACTION" for h in s.get("lifecycleHookDetails", [])))
    hook = next(h for h in waiting["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION")
    d.call("continue_service_deployment", serviceDeploymentArn=sd, hookId=hook["hookId"], action="CONTINUE")
    d.until(sd, finished)
    d.refused("continue_service_deployment", serviceDeploymentArn=sd, hookId=hook["hookId"], action="CONTINUE")
    d.refused("stop_service_deployment", serviceDeploymentArn=sd, stopType="ROLLBACK")

    # Linear and canary through their traffic steps, one ending in an alarm rollback.
    linear = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1}}
    canary = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}}
    for name, configuration, outcome in (("linear", linear, "succeed"), ("canary", canary, "alarm")):
        d.service(name, first, configuration, fast + [("sim:next-rollout", outcome)])
        sd = d.deploy(name, second)["service"]["currentServiceDeployment"]
        d.until(sd, finished)

    # Failures: the breaker without rollback, with rollback, a failed rollback; a stop with ROLLBACK.
    for outcome in ("fail", "rollback", "rollback-fail", "hang"):
        d.service(outcome, first, breaker, fast + [("sim:next-rollout", outcome)])
        sd = d.deploy(outcome, second)["service"]["currentServiceDeployment"]
        if outcome == "hang":
            d.until(sd, lambda s: s["status"] == "IN_PROGRESS")
            d.call("stop_service_deployment", serviceDeploymentArn=sd, stopType="ROLLBACK")
        d.until(sd, finished)

    # Services that deploy through other controllers are created and described, never rolled out here.
    d.service("code-deploy", first, controller="CODE_DEPLOY")
    d.service("external", first, controller="EXTERNAL")
    d.call("describe_services", cluster=d.cluster, services=["code-deploy", "external"], include=["TAGS"])
    d.refused("update_service", cluster=d.cluster, service="code-deploy", taskDefinition=second)

    # Errors the operations declare.
    d.refused("describe_service_deployments", serviceDeploymentArns=[sd] * 21)
    d.refused("stop_service_deployment", serviceDeploymentArn=sd + "x")
    d.refused("continue_service_deployment", serviceDeploymentArn=sd, hookId="ecs-pause-none")
    d.refused("list_service_deployments", cluster=d.cluster, service="absent")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    args = parser.parse_args()
    drive = Drive(args.endpoint)
    scenario(drive)
    counts, errors = verify(drive.recorder.answers)
    report = {"answers": counts, "errors": errors, "planted": planted_faults(drive.recorder.answers)}
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
