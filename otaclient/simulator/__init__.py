"""A local simulator of the Alibaba Cloud IoT Platform OTA API (RPC, Version 2018-01-20).

It verifies requests like the POP gateway (common parameters, v1 HMAC-SHA1 signature for
the HTTP method used, timestamp window, nonce replay, STS tokens), enforces a per-key
sliding-window quota (``Throttling.User``), implements all 26 OTA actions over a
deterministic generated fleet, speaks the aliyun (PascalCase JSON or XML) and the
tuya-hosted (camelCase JSON) dialects, and can add latency and seeded faults.

It is a second, independent reading of the API reference, and keeps its own copy of what
it checks on purpose: a constant shared with the client could be wrong in both at once and
no test would notice. So it does not import the client's operation table, and keeps, per
constant: the ``Version`` it accepts (``gateway.API_VERSION``), the per-action quotas it
enforces (``ACTION_QPS``), and every parameter limit it validates (``RetryInterval`` and
``RetryCount`` choices, the ``TimeoutInMinutes`` and ``MaximumPerMinute`` ranges, page
sizes, list lengths; in ``actions``). Tests check that the two readings agree where they
meet (``tests/integration/test_second_reading.py``). What it does share is the v1 signature
(``otaclient._signing``), itself pinned to the provider's published test vectors.

In-process, with httpx::

    import httpx
    from otaclient.simulator import Simulator, SimulatorConfig

    app = Simulator(SimulatorConfig(seed=7, dialect="aliyun", qps=10))
    async with httpx.AsyncClient(transport=app.transport(), base_url="http://sim") as http:
        ...  # signed GET/POST requests to "/"
    app.stats.accepted, app.fleet.job_ids()

Over real HTTP (tests; works under asyncio and trio)::

    from otaclient.simulator import running_server

    async with running_server(Simulator(), port=0) as base_url:
        ...  # e.g. "http://127.0.0.1:54321", credentials DEMO_ACCESS_KEY_ID / _SECRET

Standing in for the cloud side of credentials (STS, ECS metadata, a credentials URI)::

    from otaclient.simulator import CloudConfig, CloudStandIn

    sim = Simulator()
    cloud = CloudStandIn(CloudConfig(lifetime=900), simulator=sim)  # sim accepts its keys
    async with running_server(cloud) as cloud_url:
        ...  # sts_endpoint=cloud_url, metadata_url=cloud_url, f"{cloud_url}/credentials"

From a command line (blocking)::

    from otaclient.simulator import run
    run("127.0.0.1", 8686, SimulatorConfig(), on_start=lambda url: print(url))

Only serving over HTTP needs uvicorn, and only then is it imported: the in-process
transport works without it.

An independent reading of the reference
---------------------------------------
The simulator is the oracle the library is tested against, so it keeps its own copy of
what ``reference/ota-api.md`` says, on purpose, and imports none of the library's table or
constants: the API version it accepts (``gateway.API_VERSION``), every parameter's limits
and allowed values (page-size maxima, ``CurrentPage * PageSize <= 100000``, the
``RetryInterval``, ``RetryCount``, ``TimeoutInMinutes`` and ``MaximumPerMinute`` ranges,
tag, name and version rules, the 500-package and 10-module caps), the per-action quotas
(:data:`ACTION_QPS`), the error codes and messages, and the task and job statuses. A
misreading of the reference then fails a test instead of passing on both sides. What it
does share with the library is the v1 signing code (``otaclient._signing``), which the
unit tests check against a signer of their own (``tests/unit/_helpers.py``).
"""

from __future__ import annotations

from .app import Outcome, Simulator
from .cloud import (
    DEMO_ECS_ROLE,
    DEMO_OIDC_PROVIDER_ARN,
    DEMO_OIDC_TOKEN,
    DEMO_ROLE_ARN,
    CloudConfig,
    CloudStandIn,
)
from .config import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    Dialect,
    FaultPhase,
    FaultSpec,
    FleetSpec,
    SimulatorConfig,
)
from .derive import TaskFields
from .errors import SimulatedDrop
from .fleet import Fleet
from .gateway import IssuedKey, IssuedKeys
from .generate import build_fleet
from .quota import ACTION_QPS
from .server import run, running_server, serve
from .stats import SimulatorStats
from .tasks import TASK_STATUSES
from .transport import SimulatorTransport

__all__ = [
    "ACTION_QPS",
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "DEMO_ECS_ROLE",
    "DEMO_OIDC_PROVIDER_ARN",
    "DEMO_OIDC_TOKEN",
    "DEMO_ROLE_ARN",
    "TASK_STATUSES",
    "CloudConfig",
    "CloudStandIn",
    "Dialect",
    "FaultPhase",
    "FaultSpec",
    "Fleet",
    "FleetSpec",
    "IssuedKey",
    "IssuedKeys",
    "Outcome",
    "SimulatedDrop",
    "Simulator",
    "SimulatorConfig",
    "SimulatorStats",
    "SimulatorTransport",
    "TaskFields",
    "build_fleet",
    "run",
    "running_server",
    "serve",
]
