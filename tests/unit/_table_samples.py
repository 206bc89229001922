"""Valid sample arguments for any action, built from the operation table."""

from __future__ import annotations

from typing import Any

from otaclient._operations import Operation
from otaclient._params import Param, snake_case

# Arguments an action's cross-field checks need beyond its required parameters.
EXTRA_ARGUMENTS: dict[str, dict[str, Any]] = {
    "CreateOTAFirmware": {"firmware_url": "https://oss.test/firmware.bin"},
    "CancelOTATaskByJob": {"cancel_queued_task": True},
    "ListOTAUnfinishedTaskByDevice": {"iot_id": "iot-1"},
    "ListOTAModuleVersionsByDevice": {"iot_id": "iot-1"},
}


def sample_value(param: Param) -> Any:
    """A value ``param`` accepts."""
    if param.kind.value == "str":
        return "x1"
    if param.kind.value == "int":
        if param.choices:
            return param.choices[0]
        return param.low if param.low is not None else 1
    if param.kind.value == "bool":
        return True
    if param.kind.value == "enum":
        assert param.enum is not None
        return next(iter(param.enum)).value
    if param.kind.value == "millis":
        return 1_732_006_800_000
    if param.kind.value == "repeat":
        return [next(iter(param.enum)).value] if param.enum else ["x1"]
    if param.kind.value == "structs":
        return [{snake_case(field): "v1" for field in param.struct_fields}]
    raise AssertionError(f"no sample value for a {param.kind!r} parameter")


def minimal_arguments(op: Operation) -> dict[str, Any]:
    """The required arguments of ``op`` (paging included), plus what its checks need."""
    arguments = {p.name: sample_value(p) for p in op.all_params if p.required}
    arguments.update(EXTRA_ARGUMENTS.get(op.action, {}))
    return arguments
