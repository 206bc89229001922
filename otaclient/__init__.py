"""otaclient: an async client for the Alibaba Cloud IoT Platform OTA API (2018-01-20).

>>> from otaclient import OTAClient
>>> async def audit():                                               # doctest: +SKIP
...     async with OTAClient(endpoint="http://127.0.0.1:8686") as client:
...         async for job in client.iter_ota_job_by_firmware(firmware_id="f1"):
...             print(job.job_id, job.job_status)
"""

from . import _logging
from ._client import ClientStats, OTAClient
from ._config import is_loopback_endpoint
from ._credentials import (
    CachedProvider,
    Credentials,
    CredentialsProvider,
    CredentialsURIProvider,
    DefaultCredentialsChain,
    EcsRamRoleProvider,
    OIDCRoleProvider,
    RamRoleArnProvider,
    RefreshPolicy,
)
from ._errors import (
    APIError,
    CredentialsError,
    HarvestError,
    ListTooDeepError,
    NoAnswerError,
    OTAError,
    OutcomeUnknownError,
    RateLimiterError,
    ReportError,
    ResponseError,
    ThrottlingError,
    TransportError,
    ValidationError,
)
from ._events import (
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    ThrottledEvent,
)
from ._export import to_plain
from ._harvest import Harvest, HarvestProgress
from ._limiter import PerActionLimiter, RateLimiter, TokenBucket, Unlimited
from ._models import (
    Acknowledged,
    CreatedFirmware,
    CreatedJob,
    DownloadProtocol,
    Firmware,
    FirmwareDetail,
    FirmwareFile,
    FirmwareStatus,
    FirmwareType,
    GroupType,
    JobStatus,
    JobType,
    OTAJob,
    OTAJobDetail,
    OTAModule,
    OTAModuleVersion,
    OTATag,
    OTATask,
    Page,
    SelectionType,
    SignMethod,
    TargetSelection,
    TaskStatus,
    UploadTicket,
)
from ._redact import scrub as scrub_secrets
from ._redis_limiter import RedisRateLimiter
from ._retry import RetryPolicy
from ._version import __version__ as __version__

_logging.install()

__all__ = [
    "APIError",
    "Acknowledged",
    "CachedProvider",
    "ClientStats",
    "CreatedFirmware",
    "CreatedJob",
    "Credentials",
    "CredentialsError",
    "CredentialsProvider",
    "CredentialsURIProvider",
    "DefaultCredentialsChain",
    "DownloadProtocol",
    "EcsRamRoleProvider",
    "Firmware",
    "FirmwareDetail",
    "FirmwareFile",
    "FirmwareStatus",
    "FirmwareType",
    "GroupType",
    "Harvest",
    "HarvestError",
    "HarvestProgress",
    "JobStatus",
    "JobType",
    "ListTooDeepError",
    "NoAnswerError",
    "OIDCRoleProvider",
    "OTAClient",
    "OTAError",
    "OTAJob",
    "OTAJobDetail",
    "OTAModule",
    "OTAModuleVersion",
    "OTATag",
    "OTATask",
    "OutcomeUnknownError",
    "Page",
    "PerActionLimiter",
    "RamRoleArnProvider",
    "RateLimiter",
    "RateLimiterError",
    "ReportError",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "RedisRateLimiter",
    "RefreshPolicy",
    "ResponseError",
    "RetryPolicy",
    "SelectionType",
    "SignMethod",
    "TargetSelection",
    "TaskStatus",
    "ThrottledEvent",
    "ThrottlingError",
    "TokenBucket",
    "TransportError",
    "Unlimited",
    "UploadTicket",
    "ValidationError",
    "is_loopback_endpoint",
    "scrub_secrets",
    "to_plain",
]
