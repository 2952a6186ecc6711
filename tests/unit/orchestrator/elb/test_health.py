"""Reading HAProxy's `show stat` and turning it into AWS target health."""

from __future__ import annotations

import pytest

from orchestrator.elb.haproxy_runtime import ServerStatus, parse_show_stat
from orchestrator.elb.health import target_health

# Trimmed from HAProxy 3.0.11's `show stat` (the parser goes by column name).
SHOW_STAT = """\
# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,addr
lb_web_9080,FRONTEND,,,0,1,262120,5,410,725,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,,,
tg_a,i-1_8000,0,0,2,1,,5,410,725,,0,,0,0,0,0,UP,1,1,0,0,1,14,5,,1,7,1,,5,,2,0,,1,L7OK,200,1,172.18.0.3:8000
tg_a,i-2_8000,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,3,1,4,4,,1,7,2,,0,,2,0,,0,L7STS,503,1,172.18.0.4:8000
tg_a,i-3_8000,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1,1,0,0,1,1,1,,1,7,3,,0,,2,0,,0,L7OK,200,1,172.18.0.5:8000
tg_a,i-4_8000,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,2,3,1,1,,1,7,4,,0,,2,0,,0,* L4TOUT,,1,172.18.0.6:8000
tg_a,i-5_8000,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,1,1,,1,7,5,,0,,2,0,,0,INI,,1,172.18.0.7:8000
tg_a,BACKEND,0,0,2,1,998,5,410,725,0,0,,1,0,3,0,UP,1,1,0,,0,14,5,,1,7,0,,5,,1,0,,3,,,,
"""  # noqa: E501


def test_show_stat_rows_become_server_statuses():
    servers = parse_show_stat(SHOW_STAT)
    assert [s.name for s in servers] == ["i-1_8000", "i-2_8000", "i-3_8000", "i-4_8000", "i-5_8000"]
    first = servers[0]
    assert first == ServerStatus(
        "tg_a", "i-1_8000", "172.18.0.3", 8000, "UP", "L7OK", "200", 2, 1, 1
    )
    assert servers[2].state == "DOWN"
    assert servers[3].check_status == "L4TOUT"


@pytest.mark.parametrize(
    ("server", "state", "reason"),
    [
        ("i-1_8000", "healthy", None),
        ("i-2_8000", "unhealthy", "Target.ResponseCodeMismatch"),
        ("i-3_8000", "initial", "Elb.InitialHealthChecking"),
        ("i-4_8000", "unhealthy", "Target.Timeout"),
        ("i-5_8000", "initial", "Elb.RegistrationInProgress"),
    ],
)
def test_target_health_follows_aws_states_and_reasons(server: str, state: str, reason: str | None):
    status = next(s for s in parse_show_stat(SHOW_STAT) if s.name == server)
    health = target_health(status)
    assert (health.state, health.reason) == (state, reason)


def test_a_target_that_was_healthy_and_is_recovering_is_unhealthy_not_initial():
    recovering = ServerStatus("tg", "s", "10.0.0.1", 80, "DOWN 1/5", "L7OK", "200", 0, 1, 3)
    assert target_health(recovering).reason == "Target.FailedHealthChecks"


def test_with_checks_disabled_a_target_is_unavailable():
    status = ServerStatus("tg", "s", "10.0.0.1", 80, "no check", "", "", 0, 1, 0)
    assert target_health(status, checks_enabled=False).state == "unavailable"
