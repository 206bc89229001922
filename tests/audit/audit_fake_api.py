"""A hand-made account behind ``httpx.MockTransport``: exact task times for stuck tests.

Serves ListOTAFirmware, ListOTAJobByFirmware and ListOTATaskByJob (aliyun JSON, paged,
``TaskStatus`` filter) from plain dicts in wire names. Signatures are not checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from support.wire import signed_params

Item = Mapping[str, Any]

_CONTAINERS = {
    "ListOTAFirmware": ("FirmwareInfo", "SimpleFirmwareInfo"),
    "ListOTAJobByFirmware": ("Data", "SimpleOTAJobInfo"),
    "ListOTATaskByJob": ("Data", "SimpleOTATaskInfo"),
}


class FakeAccount:
    """Firmware, jobs per firmware, tasks per job; counts the requests it answers."""

    def __init__(
        self,
        firmware: Sequence[Item],
        jobs: Mapping[str, Sequence[Item]],
        tasks: Mapping[str, Sequence[Item]],
    ) -> None:
        self.firmware = list(firmware)
        self.jobs = {key: list(value) for key, value in jobs.items()}
        self.tasks = {key: list(value) for key, value in tasks.items()}
        self.requests: list[dict[str, str]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        params = signed_params(request)
        self.requests.append(params)
        action = params["Action"]
        items: list[Item]
        if action == "ListOTAFirmware":
            key = params.get("ProductKey")
            items = [f for f in self.firmware if key is None or f["ProductKey"] == key]
        elif action == "ListOTAJobByFirmware":
            items = self.jobs.get(params["FirmwareId"], [])
        elif action == "ListOTATaskByJob":
            status = params.get("TaskStatus")
            items = [
                t
                for t in self.tasks.get(params["JobId"], [])
                if status is None or t["TaskStatus"] == status
            ]
        else:
            body = {"RequestId": "r", "Success": False, "Code": "NotFaked", "ErrorMessage": action}
            return httpx.Response(200, json=body)
        page, size = int(params.get("CurrentPage", 1)), int(params.get("PageSize", 10))
        outer, inner = _CONTAINERS[action]
        body = {
            "RequestId": f"req-{len(self.requests)}",
            "Success": True,
            "CurrentPage": page,
            "PageSize": size,
            "Total": len(items),
            "PageCount": max(1, -(-len(items) // size)),
            outer: {inner: items[(page - 1) * size : page * size]},
        }
        return httpx.Response(200, content=json.dumps(body).encode())
