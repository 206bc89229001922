"""The typed results of the OTA API: frozen attrs classes with snake_case fields.

Every field is optional (``None`` when the body leaves it out): the service omits keys
freely (``UtcEndTime`` only once a job completes, ``SrcVersion`` only for delta packages)
and the re-hosted dialect omits more. Enumerated strings decode to the enums below when the
value is known and stay the raw string when it is not (a new status), so a surprising value
never breaks a harvest. The enums are ``StrEnum``: ``job.job_status == "IN_PROGRESS"``
holds either way.

Documented variant spellings of one value (reference §7: ``COMPLETE`` for ``COMPLETED``,
``VERFIY_FIRMWARE`` for ``VERIFY_FIRMWARE``) decode to the canonical member, which still
compares equal to the variant the service sent, so every reader of a model (the CLI's
lists, ``jobs show``, the audit) prints one spelling:

>>> JobStatus("COMPLETE") is JobStatus.COMPLETED
True
>>> JobStatus.COMPLETED == "COMPLETE", str(JobStatus.COMPLETED)
(True, 'COMPLETED')
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, ClassVar, Generic, TypeVar

import attrs

__all__ = [
    "Acknowledged",
    "CreatedFirmware",
    "CreatedJob",
    "DownloadProtocol",
    "Firmware",
    "FirmwareDetail",
    "FirmwareFile",
    "FirmwareStatus",
    "FirmwareType",
    "GroupType",
    "JobStatus",
    "JobType",
    "OTAJob",
    "OTAJobDetail",
    "OTAModule",
    "OTAModuleVersion",
    "OTATag",
    "OTATask",
    "Page",
    "SelectionType",
    "SignMethod",
    "TargetSelection",
    "TaskStatus",
    "UploadTicket",
    "spellings",
]

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

# Variant spelling -> canonical value, for every enum below: the documented ones (§7).
_VARIANTS = {"COMPLETE": "COMPLETED", "VERFIY_FIRMWARE": "VERIFY_FIRMWARE"}


def spellings(enum: type[E]) -> dict[str, E]:
    """Every spelling the service uses for ``enum``'s members: values and documented variants.

    >>> spellings(JobType)["VERFIY_FIRMWARE"]
    <JobType.VERIFY_FIRMWARE: 'VERIFY_FIRMWARE'>
    """
    members = {member.value: member for member in enum}
    variants = {old: members[new] for old, new in _VARIANTS.items() if new in members}
    return members | variants


class _Respelled(StrEnum):
    """Members found by, and equal to, their documented variant spellings as well.

    Hashing stays the canonical value's: use canonical spellings as dict and set keys.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        return spellings(cls).get(value) if isinstance(value, str) else None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str.__eq__(self, _VARIANTS.get(other, other))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = StrEnum.__hash__


class JobStatus(_Respelled):
    """Status of an upgrade batch (job). ``COMPLETE`` (ListOTAJobBy*) is ``COMPLETED``."""

    PLANNED = "PLANNED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class JobType(_Respelled):
    """Kind of batch: a verification run of a package, or a fleet upgrade.

    The aliyun dialect's ``VERFIY_FIRMWARE`` is ``VERIFY_FIRMWARE``.
    """

    VERIFY_FIRMWARE = "VERIFY_FIRMWARE"
    UPGRADE_FIRMWARE = "UPGRADE_FIRMWARE"


class SelectionType(StrEnum):
    """How the batch chose its devices: once at creation, or continuously."""

    STATIC = "STATIC"
    DYNAMIC = "DYNAMIC"


class TargetSelection(StrEnum):
    """Scope of a batch."""

    ALL = "ALL"
    SPECIFIC = "SPECIFIC"
    GRAY = "GRAY"
    GROUP = "GROUP"


class TaskStatus(StrEnum):
    """Status of one device's upgrade task. The first four are "unfinished"."""

    CONFIRM = "CONFIRM"
    QUEUED = "QUEUED"
    NOTIFIED = "NOTIFIED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class FirmwareStatus(IntEnum):
    """What ``Firmware.status`` means (the field stays the wire's ``int``).

    >>> FirmwareStatus(1).name
    'VERIFIED'
    """

    NOT_REQUIRED = -1
    """No verification required (QueryOTAFirmware only)."""
    UNVERIFIED = 0
    VERIFIED = 1
    VERIFYING = 2
    VERIFY_FAILED = 3


class FirmwareType(IntEnum):
    """What ``Firmware.type`` means (the field stays the wire's ``int``)."""

    FULL = 0
    DELTA = 1
    """A differential package, from ``src_version`` only."""


class DownloadProtocol(StrEnum):
    """How devices download the package."""

    HTTPS = "HTTPS"
    MQTT = "MQTT"


class SignMethod(StrEnum):
    """Digest the package is signed with."""

    MD5 = "MD5"
    SHA256 = "SHA256"


class GroupType(StrEnum):
    """Kind of device group a batch targets."""

    LINK_PLATFORM = "LINK_PLATFORM"
    LINK_PLATFORM_DYNAMIC = "LINK_PLATFORM_DYNAMIC"


class _Model:
    """The base of the decoded models: it holds their ``__weakref__`` slot.

    A slot of a class's own would sit after its fields, where CPython's layout check for
    ``__class__`` assignment does not look for it; in a base it comes first, and the
    decoder can build a model as a mutable twin of the same layout that then becomes the
    model (``_convert._mutable_twin``: plain attribute stores instead of a call a field).
    """

    __slots__ = ("__weakref__",)


@attrs.frozen
class OTATag(_Model):
    """A batch tag.

    >>> OTATag("team", "fleet-a")
    OTATag(key='team', value='fleet-a')
    """

    key: str | None = None
    value: str | None = None


@attrs.frozen
class Firmware(_Model):
    """An update package, as ListOTAFirmware lists it."""

    firmware_id: str | None = None
    firmware_name: str | None = None
    firmware_desc: str | None = None
    firmware_sign: str | None = None
    firmware_size: int | None = None
    sign_method: SignMethod | str | None = None
    src_version: str | None = None
    dest_version: str | None = None
    module_name: str | None = None
    product_key: str | None = None
    product_name: str | None = None
    status: int | None = None
    type: int | None = None
    utc_create: datetime | None = None
    utc_modified: datetime | None = None


@attrs.frozen
class FirmwareFile(_Model):
    """One file of a multi-file package (QueryOTAFirmware ``MultiFiles``)."""

    name: str | None = None
    url: str | None = None
    size: int | None = None
    sign_value: str | None = None
    file_md5: str | None = None


@attrs.frozen
class FirmwareDetail(Firmware):
    """An update package with the details QueryOTAFirmware adds."""

    firmware_url: str | None = None
    multi_files: list[FirmwareFile] = attrs.field(factory=list)
    verify_progress: int | None = None
    udi: str | None = None


@attrs.frozen
class OTAJob(_Model):
    """An upgrade batch, as the ListOTAJobBy* actions list it."""

    job_id: str | None = None
    firmware_id: str | None = None
    job_status: JobStatus | str | None = None
    job_type: JobType | str | None = None
    product_key: str | None = None
    selection_type: SelectionType | str | None = None
    target_selection: TargetSelection | str | None = None
    utc_create: datetime | None = None
    utc_modified: datetime | None = None
    utc_start_time: datetime | None = None
    utc_end_time: datetime | None = None
    tags: list[OTATag] = attrs.field(factory=list)


@attrs.frozen
class OTAJobDetail(OTAJob):
    """An upgrade batch with everything QueryOTAJob says about it."""

    name: str | None = None
    job_desc: str | None = None
    dest_version: str | None = None
    src_versions: list[str] = attrs.field(factory=list)
    gray_percent: str | None = None
    group_id: str | None = None
    group_name: str | None = None
    download_protocol: DownloadProtocol | str | None = None
    dynamic_mode: int | None = None
    overwrite_mode: int | None = None
    maximum_per_minute: int | None = None
    retry_count: int | None = None
    retry_interval: int | None = None
    timeout_in_minutes: int | None = None
    multi_module_mode: bool | None = None
    need_push: bool | None = None
    need_confirm: bool | None = None
    utc_schedule_time: datetime | None = None
    utc_schedule_finish_time: datetime | None = None


@attrs.frozen
class OTATask(_Model):
    """One device's upgrade task.

    ``progress``, ``task_desc`` and ``timeout`` come only from ListOTATaskByJob.
    """

    task_id: str | None = None
    job_id: str | None = None
    firmware_id: str | None = None
    iot_id: str | None = None
    product_key: str | None = None
    product_name: str | None = None
    device_name: str | None = None
    module_name: str | None = None
    src_version: str | None = None
    dest_version: str | None = None
    task_status: TaskStatus | str | None = None
    utc_create: datetime | None = None
    utc_modified: datetime | None = None
    progress: str | None = None
    task_desc: str | None = None
    timeout: str | None = None


@attrs.frozen
class OTAModule(_Model):
    """An OTA module of a product (ListOTAModuleByProduct)."""

    module_name: str | None = None
    alias_name: str | None = None
    desc: str | None = None
    product_key: str | None = None
    gmt_create: datetime | None = None
    gmt_modified: datetime | None = None


@attrs.frozen
class OTAModuleVersion(_Model):
    """The version a device reports for one module (ListOTAModuleVersionsByDevice)."""

    device_name: str | None = None
    iot_id: str | None = None
    module_name: str | None = None
    module_version: str | None = None
    product_key: str | None = None


@attrs.frozen
class CreatedJob(_Model):
    """What a Create*Job action returns: the new job's id and creation time.

    The re-hosted dialect's sample answer puts the job id under ``firmwareId``; the decoder
    takes that value when no ``jobId`` is present.
    """

    # Read by the decoder: a wire key to fall back on when the field's own key is absent.
    _wire_fallbacks: ClassVar[dict[str, str]] = {"firmwareid": "job_id"}

    job_id: str | None = None
    utc_create: datetime | None = None
    request_id: str | None = None


@attrs.frozen
class CreatedFirmware(_Model):
    """What CreateOTAFirmware returns."""

    firmware_id: str | None = None
    utc_create: datetime | None = None
    request_id: str | None = None


@attrs.frozen
class UploadTicket(_Model):
    """A short-lived OSS upload ticket (GenerateOTAUploadURL, GenerateDeviceNameListURL).

    ``firmware_url`` (package upload) or ``file_url`` (device list) is what the follow-up
    create call takes. ``signature`` and ``policy`` are credentials for the upload: hidden
    from ``repr``.
    """

    firmware_url: str | None = None
    file_url: str | None = None
    host: str | None = None
    key: str | None = None
    oss_access_key_id: str | None = None
    access_key_id: str | None = None
    policy: str | None = attrs.field(default=None, repr=False)
    signature: str | None = attrs.field(default=None, repr=False)
    object_storage: str | None = None
    utc_create: datetime | None = None


@attrs.frozen
class Acknowledged(_Model):
    """The answer of an action that returns only the envelope: it succeeded.

    >>> Acknowledged(request_id="5D58AC86")
    Acknowledged(request_id='5D58AC86')
    """

    request_id: str | None = None


@attrs.frozen
class Page(Generic[T]):
    """One page of a paged list action.

    ``page_count`` is the number of pages ``total`` items fill at ``page_size`` (the page
    size asked for, which the answer must echo if it says one): computed, because an
    answer's own ``PageCount`` can under-report.
    """

    items: list[T]
    total: int
    page_count: int
    current_page: int
    page_size: int
    request_id: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
