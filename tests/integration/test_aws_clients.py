"""boto3's own waiters against Barista on real containers and a real HAProxy: the front door
answers what the SDK polls (``ecs`` ``services_stable``, ``elbv2`` ``target_in_service``), so
user code written for AWS waits on Barista the same way."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from orchestrator.api import ApiContext
from orchestrator.clock import ScaledClock
from orchestrator.ecs.controller import EcsController
from orchestrator.runtime.tasks import DockerTaskRuntime
from orchestrator.time_scale import TimeScale
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.load_balancing import TARGET_HTTP_PORT, ElbStack

pytestmark = pytest.mark.docker

SCALE = TimeScale(10)
WAIT = {"Delay": 1, "MaxAttempts": 90}


@pytest.fixture
def endpoint(stack: ElbStack) -> Iterator[Endpoint]:
    """The API over the stack's store and HAProxy, with the ELB and ECS controllers running
    on threads as ``barista serve orchestrator`` runs them."""
    api = stack.controller.haproxy
    environ = {
        "BARISTA_HAPROXY_RUNTIME_API": f"{api.host}:{api.port}",
        "BARISTA_HAPROXY_MASTER_CLI_PORT": str(api.master_port),
        "BARISTA_ELB_CONFIG_DIR": str(stack.haproxy.config_dir),
        "BARISTA_TIME_SCALE": str(SCALE.time_scale),
    }
    tasks = DockerTaskRuntime(labels={SESSION_LABEL: SESSION_ID})
    ecs = EcsController(
        stack.store_path,
        tasks,
        clock=ScaledClock(time.time(), SCALE),
        time_scale=SCALE,
        network=stack.network.name,
    )
    stopping = threading.Event()
    threads = [
        threading.Thread(target=stack.controller.run, args=(stopping, 0.5), daemon=True),
        threading.Thread(target=ecs.run, args=(stopping, 0.5), daemon=True),
    ]
    for thread in threads:
        thread.start()
    context = ApiContext(stack.store_path, stack.runtime, environ, CREDENTIALS)
    try:
        with serve(context) as served:
            yield served
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)
        for task_id in {c.task_id for c in tasks.task_containers()}:
            tasks.stop_task(task_id)
        ecs.close()


def test_ecs_services_stable_waiter(endpoint: Endpoint) -> None:
    ecs = endpoint.client("ecs")
    ecs.create_cluster(clusterName="shop")
    ecs.register_task_definition(
        family="counter",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "app",
                "image": stable_image("service"),
                "command": ["serve", "health"],
                "portMappings": [{"containerPort": 8080}],
                "stopTimeout": 2,
            }
        ],
    )
    ecs.create_service(
        cluster="shop",
        serviceName="counter",
        taskDefinition="counter",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-az-a"]}},
    )
    ecs.get_waiter("services_stable").wait(cluster="shop", services=["counter"], WaiterConfig=WAIT)
    (service,) = ecs.describe_services(cluster="shop", services=["counter"])["services"]
    assert service["runningCount"] == 2
    assert len(service["deployments"]) == 1
    running = ecs.list_tasks(cluster="shop", serviceName="counter", desiredStatus="RUNNING")
    assert len(running["taskArns"]) == 2


def test_elbv2_target_in_service_waiter(endpoint: Endpoint, stack: ElbStack) -> None:
    (target,) = stack.launch_targets("web", 1)
    elbv2 = endpoint.client("elbv2")
    load_balancer = elbv2.create_load_balancer(Name="shop", Type="application")["LoadBalancers"][0]
    group = elbv2.create_target_group(
        Name="web",
        Protocol="HTTP",
        Port=TARGET_HTTP_PORT,
        TargetType="instance",
        HealthCheckPath="/healthz",
        HealthCheckIntervalSeconds=5,
        HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2,
    )["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=load_balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=9080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    elbv2.register_targets(
        TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": target.instance_id}]
    )
    elbv2.get_waiter("target_in_service").wait(
        TargetGroupArn=group["TargetGroupArn"],
        Targets=[{"Id": target.instance_id}],
        WaiterConfig=WAIT,
    )
    (health,) = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])[
        "TargetHealthDescriptions"
    ]
    assert health["TargetHealth"]["State"] == "healthy"
    assert health["Target"]["Id"] == target.instance_id
