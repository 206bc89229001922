"""The operation table: one declarative entry per API action.

An ``Operation`` says everything the client needs to call an action: its wire name, HTTP
method, parameters (wire names, kinds, limits), what the answer holds (``Paged``, ``Listed``,
``Single`` or ``EnvelopeOnly``), and its retry class from the reference:

* ``read``   - read-only, retried freely;
* ``ticket`` - hands out a fresh upload ticket, no lasting change, retried freely;
* ``create`` - creates something; retried only when the request surely never arrived;
* ``mutate`` - changes or deletes; retried only when the request surely never arrived.

Signing, validation, the call and the decoding are the client's generic machinery, driven
by these entries. Adding an action is one entry here, one model if it returns a new shape,
and one typed method on the client.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._decode import DecodeProblem, get_key, structure
from ._errors import ValidationError
from ._models import (
    Acknowledged,
    CreatedFirmware,
    CreatedJob,
    DownloadProtocol,
    Firmware,
    FirmwareDetail,
    GroupType,
    OTAJob,
    OTAJobDetail,
    OTAModule,
    OTAModuleVersion,
    OTATask,
    Page,
    SignMethod,
    TargetSelection,
    TaskStatus,
    UploadTicket,
)
from ._params import Bool, Enum_, Int, Millis, Param, Repeat, Str, Structs

__all__ = [
    "OPERATIONS",
    "EnvelopeOnly",
    "Listed",
    "Operation",
    "Paged",
    "Single",
    "count_problem",
    "expected_items",
    "pages_for",
]

READ, TICKET, CREATE, MUTATE = "read", "ticket", "create", "mutate"


# --------------------------------------------------------------------------- result shapes


def _dig(body: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path``: ``None`` where it, or an empty wrapper around it, is absent.

    A list met one level early is the list itself (a body that leaves out the item
    wrapper). A string, number or boolean where an object belongs is refused: it is not
    an empty list, and taking it for one would lose every item silently.
    """
    value: Any = body
    for depth, key in enumerate(path):
        if value is None or value == "" or isinstance(value, list):
            return value
        if not isinstance(value, Mapping):
            where = ".".join(path[:depth])
            raise DecodeProblem(f"{where} is {_preview(value)}, not an object")
        value = get_key(value, key)
    return value


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


Asked = tuple[int, int] | None


def pages_for(total: int, page_size: int) -> int:
    """How many pages ``total`` items fill at ``page_size`` a page.

    >>> pages_for(0, 100), pages_for(100, 100), pages_for(101, 100)
    (0, 1, 2)
    """
    return -(-total // page_size) if page_size > 0 else 0


def expected_items(total: int, page: int, page_size: int) -> int:
    """How many items page ``page`` holds when the list has ``total`` items: ``page_size``
    inside the list, fewer on the last page, none past the end.

    >>> expected_items(250, 1, 100), expected_items(250, 3, 100), expected_items(250, 4, 100)
    (100, 50, 0)
    """
    return max(0, min(page_size, total - (page - 1) * page_size))


@attrs.frozen
class Paged:
    """A paged list: items at ``path``, paging keys at the top level.

    Which page an answer is, and where the list ends, come from the page and page size
    the request asked for and the answer's ``Total``; an answer's ``PageCount`` is checked
    but never trusted (it can under-report), and an echoed ``PageSize`` other than the one
    asked for is refused.
    """

    item: type[Any]
    path: tuple[str, ...]
    max_page_size: int
    max_offset: int | None = None  # CurrentPage * PageSize limit, where documented
    id_field: str = ""  # what tells two items apart: a harvest yields each once by it
    partition_by: str = ""  # a filter argument that splits a list deeper than max_offset
    partitions: tuple[Any, ...] = ()  # ... and the values that together cover the list
    unpaged_by: str = ""  # an argument with which the service ignores paging altogether

    def decode(
        self,
        body: Mapping[str, Any],
        request_id: str | None,
        asked: Asked = None,
        *,
        paging_ignored: bool = False,
    ) -> Page[Any]:
        """Build the ``Page`` of ``body``.

        ``asked`` (page, page size of the request) stands in for a ``CurrentPage`` or
        ``PageSize`` the body leaves out, and is what the answer is checked against;
        ``Total`` is required. Raises ``DecodeProblem`` for an answer that contradicts
        itself or the request. Whether the page holds as many items as ``Total`` says is
        left to ``count_problem``: in a harvest that is a sign of a moving list, not
        necessarily a broken answer. ``paging_ignored``: the request made the service
        ignore paging (``unpaged_by``), so there is nothing to check the answer against.
        """
        container = get_key(body, self.path[0])
        items = structure(_dig(body, self.path), list[self.item])  # type: ignore[name-defined]
        total = _paging_int(body, "Total")
        asked_page, asked_size = asked or (None, None)
        page_size = _paging_int(body, "PageSize", asked_size)
        current = _paging_int(body, "CurrentPage", asked_page)
        page_count = pages_for(total, page_size)
        if paging_ignored:
            return Page(items, total, page_count, current, page_size, request_id)
        if get_key(body, "PageCount") is not None:
            reported = _paging_int(body, "PageCount")
            # Fewer pages than Total fills is harmless (the end is found from Total); more
            # would mean items beyond Total, or an absurd count to chase.
            if page_size and reported > page_count + 1:
                raise DecodeProblem(
                    f"PageCount {reported} does not fit Total {total} at PageSize {page_size}"
                )
        if asked_page is None or asked_size is None:
            return Page(items, total, page_count, current, page_size, request_id)
        if page_size != asked_size:
            # The offsets of every page would be someone else's guess.
            raise DecodeProblem(
                f"asked for {asked_size} items a page, the answer says PageSize {page_size}"
            )
        if asked_page > page_count:
            # Past the end an answer may echo any page number: it has no items to lose.
            return Page(items, total, page_count, asked_page, page_size, request_id)
        if current != asked_page:
            # A proxy or cache serving another page would silently skip items.
            raise DecodeProblem(f"asked for page {asked_page}, the answer is page {current}")
        if container is None:
            raise DecodeProblem(
                f"the answer has no {'.'.join(self.path)} list, but Total {total} means "
                f"page {current} holds {expected_items(total, current, page_size)} items"
            )
        return Page(items, total, page_count, current, page_size, request_id)


def count_problem(page: Page[Any]) -> str | None:
    """What is wrong with how many items ``page`` holds, given its ``Total``; ``None``
    when the count is what ``Total`` and the page size make it.

    >>> count_problem(Page(["a"], total=250, page_count=3, current_page=3, page_size=100))
    'page 3 holds 1 items, but Total 250 at 100 a page means 50'
    """
    held, number = len(page.items), page.current_page
    expected = expected_items(page.total, number, page.page_size)
    if held == expected:
        return None
    if number > page.page_count:
        return (
            f"page {number} lies past the end of Total {page.total} at {page.page_size} a "
            f"page, yet holds {held} items"
        )
    return (
        f"page {number} holds {held} items, but Total {page.total} at {page.page_size} a "
        f"page means {expected}"
    )


_MAX_PAGING_VALUE = 10**9


def _paging_int(body: Mapping[str, Any], key: str, default: int | None = None) -> int:
    raw = get_key(body, key)
    if raw is None and default is not None:
        return default
    if raw is None:
        raise DecodeProblem(f"paging key {key} is missing")
    value = structure(raw, int)
    if not 0 <= value <= _MAX_PAGING_VALUE:
        raise DecodeProblem(f"paging key {key} is out of range: {value}")
    return value


@attrs.frozen
class Listed:
    """An unpaged list at ``path``."""

    item: type[Any]
    path: tuple[str, ...]

    def decode(
        self, body: Mapping[str, Any], request_id: str | None, asked: Asked = None
    ) -> list[Any]:
        """Return the list of items in ``body``."""
        return structure(_dig(body, self.path), list[self.item])  # type: ignore[name-defined]


@attrs.frozen
class Single:
    """One struct at ``path`` (``Data`` or ``FirmwareInfo``).

    ``identity`` names the field a create's answer must fill (the new resource's id): an
    answer without it says nothing about whether the resource exists.
    """

    model: type[Any]
    path: tuple[str, ...]
    identity: str = ""

    def decode(self, body: Mapping[str, Any], request_id: str | None, asked: Asked = None) -> Any:
        """Return the model in ``body``, with the request id when the model has one."""
        data = _dig(body, self.path)
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise DecodeProblem(f"{'.'.join(self.path)} is not an object")
        result = structure(dict(data), self.model)
        if any(f.name == "request_id" for f in attrs.fields(self.model)):
            result = attrs.evolve(result, request_id=request_id)
        return result


@attrs.frozen
class EnvelopeOnly:
    """An answer with nothing but the envelope."""

    def decode(
        self, body: Mapping[str, Any], request_id: str | None, asked: Asked = None
    ) -> Acknowledged:
        """Return the acknowledgement."""
        return Acknowledged(request_id)


Result = Paged | Listed | Single | EnvelopeOnly


# --------------------------------------------------------------------------- operations

Check = Callable[[Mapping[str, Any]], str | None]


@attrs.frozen(slots=False)  # slots off: all_params is a cached_property
class Operation:
    """One API action, as data."""

    action: str
    retry_class: str
    result: Result
    params: tuple[Param, ...] = ()
    method: str = "POST"
    checks: tuple[Check, ...] = ()
    how_to_check: str = ""
    """For writes: how a caller finds out whether an ambiguous call took effect."""
    quota: float = 10.0
    """The documented requests per second per account for this action."""

    @property
    def is_read(self) -> bool:
        """Whether the action may be retried after any transient failure."""
        return self.retry_class in (READ, TICKET)

    @property
    def paged(self) -> Paged | None:
        """The paging shape, for paged actions."""
        return self.result if isinstance(self.result, Paged) else None

    def encode(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Validate ``values`` (keyword arguments by Python name) into wire parameters."""
        wire: dict[str, str] = {}
        for param in self.all_params:
            wire.update(param.encode(values.get(param.name), self.action))
        for check in self.checks:
            problem = check(values)
            if problem:
                raise ValidationError(problem, action=self.action)
        return wire

    @functools.cached_property
    def all_params(self) -> tuple[Param, ...]:
        """The action's parameters plus paging and ``IotInstanceId``, built once."""
        extra: list[Param] = []
        paged = self.paged
        if paged is not None:
            extra.append(Int("CurrentPage", required=True, low=1))
            extra.append(Int("PageSize", required=True, low=1, high=paged.max_page_size))
        extra.append(Str("IotInstanceId"))
        return (*self.params, *extra)

    @property
    def argument_names(self) -> frozenset[str]:
        """Python keyword names this action takes."""
        return frozenset(p.name for p in self.all_params)


# --------------------------------------------------------------------------- cross-field rules


def _requires(field: str, when: str, value: str, message: str) -> Check:
    def check(values: Mapping[str, Any]) -> str | None:
        given = values.get(when)
        chosen = given is not None and str(getattr(given, "value", given)).upper() == value
        return message if chosen and values.get(field) in (None, "", []) else None

    return check


def _together(first: str, second: str) -> Check:
    def check(values: Mapping[str, Any]) -> str | None:
        if values.get(first) is not None and values.get(second) is None:
            return f"{second} is required when {first} is given"
        return None

    return check


def _one_of(*names: str, at_most_one: bool = False, at_least_one: bool = True) -> Check:
    def check(values: Mapping[str, Any]) -> str | None:
        given = [n for n in names if values.get(n) not in (None, False, [], "")]
        if at_least_one and not given:
            return f"at least one of {', '.join(names)} is required"
        if at_most_one and len(given) > 1:
            return f"give only one of {', '.join(names)}"
        return None

    return check


def _max_offset(limit: int) -> Check:
    def check(values: Mapping[str, Any]) -> str | None:
        page, size = values.get("current_page"), values.get("page_size")
        if isinstance(page, int) and isinstance(size, int) and page * size > limit:
            return f"current_page * page_size must be at most {limit}, got {page * size}"
        return None

    return check


def _specific_targets(values: Mapping[str, Any]) -> str | None:
    selection = values.get("target_selection")
    if selection is None or str(getattr(selection, "value", selection)).upper() != "SPECIFIC":
        return None
    names, file_url = values.get("target_device_names"), values.get("dn_list_file_url")
    if not names and not file_url:
        return "SPECIFIC needs target_device_names or dn_list_file_url"
    if names and file_url:
        return "give target_device_names or dn_list_file_url, not both"
    return None


def _device(values: Mapping[str, Any]) -> str | None:
    if values.get("iot_id"):
        return None
    if values.get("product_key") and values.get("device_name"):
        return None
    return "give iot_id, or product_key and device_name"


# --------------------------------------------------------------------------- the table

_TAGS = Structs("Tag", ("Key", "Value"), each_needs=("Key", "Value"), max_items=10)
_JOB_COMMON = (
    Int("RetryInterval", choices=(0, 10, 30, 60, 1440)),
    Int("RetryCount", choices=(1, 2, 5)),
    Int("TimeoutInMinutes", low=1, high=1440),
    Int("MaximumPerMinute", low=10, high=10000),
    Int("OverwriteMode", choices=(1, 2)),
    Bool("MultiModuleMode"),
    Bool("NeedPush"),
    Bool("NeedConfirm"),
    Enum_("DownloadProtocol", DownloadProtocol),
    _TAGS,
)
_CREATED_JOB = Single(CreatedJob, ("Data",), identity="job_id")
_JOBS = ("Data", "SimpleOTAJobInfo")
_TASKS = ("Data", "SimpleOTATaskInfo")
_CHECK_JOBS = (
    "Check with list_ota_job_by_firmware(firmware_id=...) whether the job exists "
    "before creating it again."
)


# Documented per-action quotas that differ from the common 10/s (reference, section 1).
_QUOTAS = {
    "QueryOTAFirmware": 20.0,
    "CreateOTAStaticUpgradeJob": 20.0,
    "CreateOTADynamicUpgradeJob": 20.0,
    "CancelOTATaskByJob": 5.0,
    "ConfirmOTATask": 20.0,
    "ReupgradeOTATask": 20.0,
}


def _op(op: Operation) -> tuple[str, Operation]:
    return op.action, attrs.evolve(op, quota=_QUOTAS.get(op.action, 10.0))


OPERATIONS: dict[str, Operation] = dict(
    [
        # ------------------------------------------------------------ firmware
        _op(
            Operation(
                "GenerateOTAUploadURL",
                TICKET,
                Single(UploadTicket, ("Data",)),
                (Str("FileSuffix"),),
            )
        ),
        _op(
            Operation(
                "CreateOTAFirmware",
                CREATE,
                Single(CreatedFirmware, ("Data",), identity="firmware_id"),
                (
                    Str("FirmwareName", required=True, max_len=40),
                    Str("DestVersion", required=True, max_len=64),
                    Str("FirmwareUrl"),
                    Structs(
                        "MultiFiles",
                        ("Name", "Url", "Size", "SignValue", "FileMd5"),
                        each_needs=("Name", "Url"),
                        max_items=20,
                    ),
                    Str("ProductKey"),
                    Str("FirmwareDesc", max_len=100),
                    Str("FirmwareSign"),
                    Int("FirmwareSize", low=0),
                    Enum_("SignMethod", SignMethod),
                    Int("Type", choices=(0, 1)),
                    Str("SrcVersion"),
                    Str("ModuleName"),
                    Bool("NeedToVerify"),
                    Str("Udi", max_len=4096),
                ),
                checks=(
                    _one_of("firmware_url", "multi_files", at_most_one=True),
                    lambda v: (
                        "src_version is required when type is 1 (a delta package)"
                        if v.get("type") == 1 and not v.get("src_version")
                        else None
                    ),
                ),
                how_to_check="Check with list_ota_firmware(...) whether the package exists "
                "before creating it again.",
            )
        ),
        _op(
            Operation(
                "ModifyOTAFirmware",
                MUTATE,
                EnvelopeOnly(),
                (
                    Str("FirmwareId", required=True),
                    Str("ProductKey", required=True),
                    Str("FirmwareName"),
                    Str("FirmwareDesc"),
                    Str("FirmwareUdi"),
                ),
                how_to_check="Read the package with query_ota_firmware(firmware_id=...).",
            )
        ),
        _op(
            Operation(
                "DeleteOTAFirmware",
                MUTATE,
                EnvelopeOnly(),
                (Str("FirmwareId", required=True),),
                how_to_check="Check with query_ota_firmware(firmware_id=...) whether it is gone.",
            )
        ),
        _op(
            Operation(
                "ListOTAFirmware",
                READ,
                Paged(
                    Firmware, ("FirmwareInfo", "SimpleFirmwareInfo"), 100, id_field="firmware_id"
                ),
                (Str("ProductKey"), Str("DestVersion")),
            )
        ),
        _op(
            Operation(
                "QueryOTAFirmware",
                READ,
                Single(FirmwareDetail, ("FirmwareInfo",)),
                (Str("FirmwareId", required=True),),
            )
        ),
        # ------------------------------------------------------------ jobs
        _op(
            Operation(
                "CreateOTAVerifyJob",
                CREATE,
                _CREATED_JOB,
                (
                    Str("FirmwareId", required=True),
                    Str("ProductKey", required=True),
                    Repeat("TargetDeviceName", required=True, max_items=10),
                    Int("TimeoutInMinutes", low=1, high=1440),
                    Bool("NeedPush"),
                    Bool("NeedConfirm"),
                    Enum_("DownloadProtocol", DownloadProtocol),
                    _TAGS,
                ),
                how_to_check=_CHECK_JOBS,
            )
        ),
        _op(
            Operation(
                "CreateOTAStaticUpgradeJob",
                CREATE,
                _CREATED_JOB,
                (
                    Str("FirmwareId", required=True),
                    Str("ProductKey", required=True),
                    Enum_("TargetSelection", TargetSelection, required=True),
                    Repeat("SrcVersion"),
                    Repeat("TargetDeviceName", max_items=200),
                    Str("DnListFileUrl"),
                    Str("GrayPercent"),
                    Str("GroupId"),
                    Enum_("GroupType", GroupType),
                    Millis("ScheduleTime"),
                    Millis("ScheduleFinishTime"),
                    *_JOB_COMMON,
                ),
                checks=(
                    _requires(
                        "gray_percent", "target_selection", "GRAY", "GRAY needs gray_percent"
                    ),
                    _requires("group_id", "target_selection", "GROUP", "GROUP needs group_id"),
                    _requires("group_type", "target_selection", "GROUP", "GROUP needs group_type"),
                    _specific_targets,
                    _together("retry_interval", "retry_count"),
                ),
                how_to_check=_CHECK_JOBS,
            )
        ),
        _op(
            Operation(
                "CreateOTADynamicUpgradeJob",
                CREATE,
                _CREATED_JOB,
                (
                    Str("FirmwareId", required=True),
                    Str("ProductKey", required=True),
                    Repeat("SrcVersion", max_items=10),
                    Str("GroupId"),
                    Enum_("GroupType", GroupType),
                    Int("DynamicMode", choices=(1, 2)),
                    *_JOB_COMMON,
                ),
                checks=(_together("retry_interval", "retry_count"),),
                how_to_check=_CHECK_JOBS,
            )
        ),
        _op(
            Operation(
                "UpdateOTAJob",
                MUTATE,
                EnvelopeOnly(),
                (
                    Str("JobId", required=True),
                    Enum_("TargetSelection", TargetSelection, required=True),
                    Str("UpgradeType", required=True),
                    Int("MaximumPerMinute", required=True, low=10, high=10000),
                    Int("TimeoutInMinutes", low=1, high=1440),
                    Repeat("SrcVersionList"),
                    Structs("Tags", ("Key", "Value"), each_needs=("Key", "Value"), max_items=10),
                ),
                how_to_check="Read the job with query_ota_job(job_id=...).",
            )
        ),
        _op(
            Operation(
                "QueryOTAJob",
                READ,
                Single(OTAJobDetail, ("Data",)),
                (Str("JobId", required=True),),
            )
        ),
        _op(
            Operation(
                "ListOTAJobByFirmware",
                READ,
                Paged(OTAJob, _JOBS, 200, id_field="job_id"),
                (Str("FirmwareId", required=True),),
            )
        ),
        _op(
            Operation(
                "ListOTAJobByDevice",
                READ,
                Paged(OTAJob, _JOBS, 100, id_field="job_id"),
                (
                    Str("FirmwareId", required=True),
                    Str("ProductKey", required=True),
                    Str("DeviceName", required=True),
                ),
            )
        ),
        # ------------------------------------------------------------ tasks
        _op(
            Operation(
                "ListOTATaskByJob",
                READ,
                Paged(
                    OTATask,
                    _TASKS,
                    100,
                    max_offset=100_000,
                    id_field="task_id",
                    partition_by="task_status",
                    partitions=tuple(TaskStatus),
                    unpaged_by="device_names",
                ),
                (
                    Str("JobId", required=True),
                    Enum_("TaskStatus", TaskStatus),
                    Repeat("DeviceNames", max_items=50),
                ),
                checks=(_max_offset(100_000),),
            )
        ),
        _op(
            Operation(
                "CancelOTAStrategyByJob",
                MUTATE,
                EnvelopeOnly(),
                (Str("JobId", required=True),),
                how_to_check="Read the job with query_ota_job(job_id=...).",
            )
        ),
        _op(
            Operation(
                "CancelOTATaskByJob",
                MUTATE,
                EnvelopeOnly(),
                (
                    Str("JobId", required=True),
                    Bool("CancelScheduledTask"),
                    Bool("CancelQueuedTask"),
                    Bool("CancelNotifiedTask"),
                    Bool("CancelInProgressTask"),
                    Bool("CancelUnconfirmedTask"),
                ),
                checks=(
                    _one_of(
                        "cancel_scheduled_task",
                        "cancel_queued_task",
                        "cancel_notified_task",
                        "cancel_in_progress_task",
                        "cancel_unconfirmed_task",
                    ),
                ),
                how_to_check="List the job's tasks with list_ota_task_by_job(job_id=...).",
            )
        ),
        _op(
            Operation(
                "CancelOTATaskByDevice",
                MUTATE,
                EnvelopeOnly(),
                (
                    Str("ProductKey", required=True),
                    Str("FirmwareId", required=True),
                    Repeat("DeviceName", required=True),
                    Str("JobId"),
                ),
                how_to_check="List the devices' unfinished tasks with "
                "list_ota_unfinished_task_by_device(...).",
            )
        ),
        _op(
            Operation(
                "ConfirmOTATask",
                MUTATE,
                EnvelopeOnly(),
                (Repeat("TaskId", required=True, max_items=10),),
                how_to_check="List the job's tasks with list_ota_task_by_job(job_id=...).",
            )
        ),
        _op(
            Operation(
                "ListOTAUnfinishedTaskByDevice",
                READ,
                Listed(OTATask, _TASKS),
                (
                    Str("ProductKey"),
                    Str("DeviceName"),
                    Str("IotId"),
                    Str("ModuleName"),
                    Enum_("TaskStatus", TaskStatus),
                    Repeat("TaskStatusList", enum=TaskStatus, max_items=4),  # the 4 unfinished
                ),
                checks=(_device,),
            )
        ),
        _op(
            Operation(
                "ReupgradeOTATask",
                MUTATE,
                EnvelopeOnly(),
                (Str("JobId", required=True), Repeat("TaskId", required=True)),
                how_to_check="List the job's tasks with list_ota_task_by_job(job_id=...).",
            )
        ),
        # ------------------------------------------------------------ modules
        _op(
            Operation(
                "CreateOTAModule",
                CREATE,
                EnvelopeOnly(),
                (
                    Str("ProductKey", required=True),
                    Str("ModuleName", required=True, max_len=64),
                    Str("AliasName", max_len=64),
                    Str("Desc", max_len=100),
                ),
                how_to_check="List the product's modules with list_ota_module_by_product(...).",
            )
        ),
        _op(
            Operation(
                "UpdateOTAModule",
                MUTATE,
                EnvelopeOnly(),
                (
                    Str("ProductKey", required=True),
                    Str("ModuleName", required=True),
                    Str("AliasName", max_len=64),
                    Str("Desc", max_len=100),
                ),
                how_to_check="List the product's modules with list_ota_module_by_product(...).",
            )
        ),
        _op(
            Operation(
                "DeleteOTAModule",
                MUTATE,
                EnvelopeOnly(),
                (Str("ProductKey", required=True), Str("ModuleName", required=True)),
                how_to_check="List the product's modules with list_ota_module_by_product(...).",
            )
        ),
        _op(
            Operation(
                "ListOTAModuleByProduct",
                READ,
                Listed(OTAModule, ("Data",)),
                (Str("ProductKey", required=True),),
                method="GET",
            )
        ),
        _op(
            Operation(
                "ListOTAModuleVersionsByDevice",
                READ,
                # One version per module on one device: the module names the item.
                Paged(
                    OTAModuleVersion,
                    ("Data", "SimpleOTAModuleInfo"),
                    200,
                    id_field="module_name",
                ),
                (Str("IotId"), Str("ProductKey"), Str("DeviceName")),
                checks=(_device,),
            )
        ),
        _op(
            Operation(
                "GenerateDeviceNameListURL",
                TICKET,
                Single(UploadTicket, ("Data",)),
            )
        ),
    ]
)
