"""The typed surface: one method per API action, all driven by the operation table.

Each method only names its keyword arguments (snake_case of the wire names, repeat lists
in the plural) and hands them to the generic path; validation, signing, the call, retries
and decoding all happen there, from the action's entry in ``_operations.OPERATIONS``.
Every method also takes ``iot_instance_id`` to override the client's for one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ._harvest import Harvest
from ._models import (
    Acknowledged,
    CreatedFirmware,
    CreatedJob,
    DownloadProtocol,
    Firmware,
    FirmwareDetail,
    FirmwareFile,
    GroupType,
    OTAJob,
    OTAJobDetail,
    OTAModule,
    OTAModuleVersion,
    OTATag,
    OTATask,
    Page,
    SignMethod,
    TargetSelection,
    TaskStatus,
    UploadTicket,
)

__all__ = ["Actions"]

Tags = Sequence[OTATag | tuple[str, str]]
Millis = datetime | int


class Actions:
    """Mixin holding the action methods; ``OTAClient`` supplies the generic paths."""

    async def _invoke(self, action: str, arguments: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def _iterate(
        self, op: Any, arguments: Mapping[str, Any], *, verify: bool = False
    ) -> Harvest[Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ firmware

    async def generate_ota_upload_url(
        self, *, file_suffix: str | None = None, iot_instance_id: str | None = None
    ) -> UploadTicket:
        """Get a one-minute OSS ticket to upload a package file (GenerateOTAUploadURL)."""
        return await self._invoke("GenerateOTAUploadURL", locals())  # type: ignore[no-any-return]

    async def create_ota_firmware(
        self,
        *,
        firmware_name: str,
        dest_version: str,
        firmware_url: str | None = None,
        multi_files: Sequence[FirmwareFile | Mapping[str, Any]] | None = None,
        product_key: str | None = None,
        firmware_desc: str | None = None,
        firmware_sign: str | None = None,
        firmware_size: int | None = None,
        sign_method: SignMethod | str | None = None,
        type: int | None = None,
        src_version: str | None = None,
        module_name: str | None = None,
        need_to_verify: bool | None = None,
        udi: str | None = None,
        iot_instance_id: str | None = None,
    ) -> CreatedFirmware:
        """Create an update package from an uploaded file (CreateOTAFirmware). Not retried."""
        return await self._invoke("CreateOTAFirmware", locals())  # type: ignore[no-any-return]

    async def modify_ota_firmware(
        self,
        *,
        firmware_id: str,
        product_key: str,
        firmware_name: str | None = None,
        firmware_desc: str | None = None,
        firmware_udi: str | None = None,
        iot_instance_id: str | None = None,
    ) -> Acknowledged:
        """Change a package's name, description or custom data (ModifyOTAFirmware)."""
        return await self._invoke("ModifyOTAFirmware", locals())  # type: ignore[no-any-return]

    async def delete_ota_firmware(
        self, *, firmware_id: str, iot_instance_id: str | None = None
    ) -> Acknowledged:
        """Delete an update package (DeleteOTAFirmware)."""
        return await self._invoke("DeleteOTAFirmware", locals())  # type: ignore[no-any-return]

    async def list_ota_firmware(
        self,
        *,
        current_page: int = 1,
        page_size: int | None = None,
        product_key: str | None = None,
        dest_version: str | None = None,
        iot_instance_id: str | None = None,
    ) -> Page[Firmware]:
        """One page of update packages (ListOTAFirmware; ``page_size`` at most 100).

        >>> page = await client.list_ota_firmware(product_key="a1B2c3")  # doctest: +SKIP
        >>> page.total, [f.firmware_id for f in page.items]               # doctest: +SKIP
        """
        return await self._invoke("ListOTAFirmware", locals())  # type: ignore[no-any-return]

    def iter_ota_firmware(
        self,
        *,
        page_size: int | None = None,
        product_key: str | None = None,
        dest_version: str | None = None,
        iot_instance_id: str | None = None,
        verify: bool = False,
    ) -> Harvest[Firmware]:
        """Every update package, all pages fetched concurrently; items in page order.

        ``verify=True`` reads the whole list a second time and raises ``HarvestError``
        when the two readings disagree beyond items added or deleted (README, Harvests).
        """
        return self._iterate("ListOTAFirmware", locals())

    async def query_ota_firmware(
        self, *, firmware_id: str, iot_instance_id: str | None = None
    ) -> FirmwareDetail:
        """Everything about one update package (QueryOTAFirmware)."""
        return await self._invoke("QueryOTAFirmware", locals())  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ jobs

    async def create_ota_verify_job(
        self,
        *,
        firmware_id: str,
        product_key: str,
        target_device_names: Sequence[str],
        timeout_in_minutes: int | None = None,
        need_push: bool | None = None,
        need_confirm: bool | None = None,
        download_protocol: DownloadProtocol | str | None = None,
        tags: Tags | None = None,
        iot_instance_id: str | None = None,
    ) -> CreatedJob:
        """Verify a package on up to 10 devices (CreateOTAVerifyJob). Not retried."""
        return await self._invoke("CreateOTAVerifyJob", locals())  # type: ignore[no-any-return]

    async def create_ota_static_upgrade_job(
        self,
        *,
        firmware_id: str,
        product_key: str,
        target_selection: TargetSelection | str,
        src_versions: Sequence[str] | None = None,
        target_device_names: Sequence[str] | None = None,
        dn_list_file_url: str | None = None,
        gray_percent: str | None = None,
        group_id: str | None = None,
        group_type: GroupType | str | None = None,
        retry_interval: int | None = None,
        retry_count: int | None = None,
        timeout_in_minutes: int | None = None,
        maximum_per_minute: int | None = None,
        overwrite_mode: int | None = None,
        multi_module_mode: bool | None = None,
        need_push: bool | None = None,
        need_confirm: bool | None = None,
        download_protocol: DownloadProtocol | str | None = None,
        schedule_time: Millis | None = None,
        schedule_finish_time: Millis | None = None,
        tags: Tags | None = None,
        iot_instance_id: str | None = None,
    ) -> CreatedJob:
        """Create a static upgrade batch (CreateOTAStaticUpgradeJob).

        Never sent twice: after an ambiguous failure it raises ``OutcomeUnknownError``
        (list the firmware's jobs to see whether the batch exists).

        >>> job = await client.create_ota_static_upgrade_job(          # doctest: +SKIP
        ...     firmware_id="f1", product_key="a1B2c3", target_selection="all",
        ...     src_versions=["1.0.0"], retry_interval=60, retry_count=1)
        >>> job.job_id                                                  # doctest: +SKIP
        """
        return await self._invoke("CreateOTAStaticUpgradeJob", locals())  # type: ignore[no-any-return]

    async def create_ota_dynamic_upgrade_job(
        self,
        *,
        firmware_id: str,
        product_key: str,
        src_versions: Sequence[str] | None = None,
        group_id: str | None = None,
        group_type: GroupType | str | None = None,
        dynamic_mode: int | None = None,
        retry_interval: int | None = None,
        retry_count: int | None = None,
        timeout_in_minutes: int | None = None,
        maximum_per_minute: int | None = None,
        overwrite_mode: int | None = None,
        multi_module_mode: bool | None = None,
        need_push: bool | None = None,
        need_confirm: bool | None = None,
        download_protocol: DownloadProtocol | str | None = None,
        tags: Tags | None = None,
        iot_instance_id: str | None = None,
    ) -> CreatedJob:
        """Create a dynamic upgrade batch (CreateOTADynamicUpgradeJob). Not retried."""
        return await self._invoke("CreateOTADynamicUpgradeJob", locals())  # type: ignore[no-any-return]

    async def update_ota_job(
        self,
        *,
        job_id: str,
        target_selection: TargetSelection | str,
        upgrade_type: str,
        maximum_per_minute: int,
        timeout_in_minutes: int | None = None,
        src_version_list: Sequence[str] | None = None,
        tags: Tags | None = None,
        iot_instance_id: str | None = None,
    ) -> Acknowledged:
        """Change a batch's settings (UpdateOTAJob)."""
        return await self._invoke("UpdateOTAJob", locals())  # type: ignore[no-any-return]

    async def query_ota_job(
        self, *, job_id: str, iot_instance_id: str | None = None
    ) -> OTAJobDetail:
        """Everything about one batch (QueryOTAJob)."""
        return await self._invoke("QueryOTAJob", locals())  # type: ignore[no-any-return]

    async def list_ota_job_by_firmware(
        self,
        *,
        firmware_id: str,
        current_page: int = 1,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
    ) -> Page[OTAJob]:
        """One page of a package's batches (ListOTAJobByFirmware; ``page_size`` at most 200)."""
        return await self._invoke("ListOTAJobByFirmware", locals())  # type: ignore[no-any-return]

    def iter_ota_job_by_firmware(
        self,
        *,
        firmware_id: str,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
        verify: bool = False,
    ) -> Harvest[OTAJob]:
        """Every batch of a package, pages fetched concurrently; items in page order.

        ``verify=True`` reads the whole list a second time and raises ``HarvestError``
        when the two readings disagree beyond items added or deleted (README, Harvests).
        """
        return self._iterate("ListOTAJobByFirmware", locals())

    async def list_ota_job_by_device(
        self,
        *,
        firmware_id: str,
        product_key: str,
        device_name: str,
        current_page: int = 1,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
    ) -> Page[OTAJob]:
        """One page of a device's batches for a package (ListOTAJobByDevice; at most 100)."""
        return await self._invoke("ListOTAJobByDevice", locals())  # type: ignore[no-any-return]

    def iter_ota_job_by_device(
        self,
        *,
        firmware_id: str,
        product_key: str,
        device_name: str,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
        verify: bool = False,
    ) -> Harvest[OTAJob]:
        """Every batch of a device for a package; items in page order.

        ``verify=True`` reads the whole list a second time and raises ``HarvestError``
        when the two readings disagree beyond items added or deleted (README, Harvests).
        """
        return self._iterate("ListOTAJobByDevice", locals())

    # ------------------------------------------------------------------ tasks

    async def list_ota_task_by_job(
        self,
        *,
        job_id: str,
        task_status: TaskStatus | str | None = None,
        device_names: Sequence[str] | None = None,
        current_page: int = 1,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
    ) -> Page[OTATask]:
        """One page of a batch's device tasks (ListOTATaskByJob; at most 100 a page, and
        ``current_page * page_size`` at most 100,000)."""
        return await self._invoke("ListOTATaskByJob", locals())  # type: ignore[no-any-return]

    def iter_ota_task_by_job(
        self,
        *,
        job_id: str,
        task_status: TaskStatus | str | None = None,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
        verify: bool = False,
    ) -> Harvest[OTATask]:
        """Every device task of a batch; items in page order.

        ``verify=True`` reads the whole list a second time and raises ``HarvestError``
        when the two readings disagree beyond items added or deleted (README, Harvests).
        """
        return self._iterate("ListOTATaskByJob", locals())

    async def cancel_ota_strategy_by_job(
        self, *, job_id: str, iot_instance_id: str | None = None
    ) -> Acknowledged:
        """Cancel a dynamic batch's policy (CancelOTAStrategyByJob)."""
        return await self._invoke("CancelOTAStrategyByJob", locals())  # type: ignore[no-any-return]

    async def cancel_ota_task_by_job(
        self,
        *,
        job_id: str,
        cancel_scheduled_task: bool | None = None,
        cancel_queued_task: bool | None = None,
        cancel_notified_task: bool | None = None,
        cancel_in_progress_task: bool | None = None,
        cancel_unconfirmed_task: bool | None = None,
        iot_instance_id: str | None = None,
    ) -> Acknowledged:
        """Cancel a batch's tasks in the chosen states (CancelOTATaskByJob; one flag at least)."""
        return await self._invoke("CancelOTATaskByJob", locals())  # type: ignore[no-any-return]

    async def cancel_ota_task_by_device(
        self,
        *,
        product_key: str,
        firmware_id: str,
        device_names: Sequence[str],
        job_id: str | None = None,
        iot_instance_id: str | None = None,
    ) -> Acknowledged:
        """Cancel the pending tasks of some devices (CancelOTATaskByDevice)."""
        return await self._invoke("CancelOTATaskByDevice", locals())  # type: ignore[no-any-return]

    async def confirm_ota_task(
        self, *, task_ids: Sequence[str], iot_instance_id: str | None = None
    ) -> Acknowledged:
        """Confirm up to 10 tasks waiting in ``CONFIRM`` (ConfirmOTATask)."""
        return await self._invoke("ConfirmOTATask", locals())  # type: ignore[no-any-return]

    async def list_ota_unfinished_task_by_device(
        self,
        *,
        product_key: str | None = None,
        device_name: str | None = None,
        iot_id: str | None = None,
        module_name: str | None = None,
        task_status: TaskStatus | str | None = None,
        task_status_list: Sequence[TaskStatus | str] | None = None,
        iot_instance_id: str | None = None,
    ) -> list[OTATask]:
        """A device's unfinished tasks (ListOTAUnfinishedTaskByDevice; not paged).

        Name the device by ``iot_id`` or by ``product_key`` and ``device_name``.
        """
        return await self._invoke("ListOTAUnfinishedTaskByDevice", locals())  # type: ignore[no-any-return]

    async def reupgrade_ota_task(
        self, *, job_id: str, task_ids: Sequence[str], iot_instance_id: str | None = None
    ) -> Acknowledged:
        """Upgrade failed or canceled tasks again (ReupgradeOTATask)."""
        return await self._invoke("ReupgradeOTATask", locals())  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ modules

    async def create_ota_module(
        self,
        *,
        product_key: str,
        module_name: str,
        alias_name: str | None = None,
        desc: str | None = None,
        iot_instance_id: str | None = None,
    ) -> Acknowledged:
        """Add an OTA module to a product (CreateOTAModule). Not retried."""
        return await self._invoke("CreateOTAModule", locals())  # type: ignore[no-any-return]

    async def update_ota_module(
        self,
        *,
        product_key: str,
        module_name: str,
        alias_name: str | None = None,
        desc: str | None = None,
        iot_instance_id: str | None = None,
    ) -> Acknowledged:
        """Change a module's alias or description (UpdateOTAModule)."""
        return await self._invoke("UpdateOTAModule", locals())  # type: ignore[no-any-return]

    async def delete_ota_module(
        self, *, product_key: str, module_name: str, iot_instance_id: str | None = None
    ) -> Acknowledged:
        """Delete a custom module that has no packages (DeleteOTAModule)."""
        return await self._invoke("DeleteOTAModule", locals())  # type: ignore[no-any-return]

    async def list_ota_module_by_product(
        self, *, product_key: str, iot_instance_id: str | None = None
    ) -> list[OTAModule]:
        """A product's OTA modules (ListOTAModuleByProduct; a GET, not paged)."""
        return await self._invoke("ListOTAModuleByProduct", locals())  # type: ignore[no-any-return]

    async def list_ota_module_versions_by_device(
        self,
        *,
        iot_id: str | None = None,
        product_key: str | None = None,
        device_name: str | None = None,
        current_page: int = 1,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
    ) -> Page[OTAModuleVersion]:
        """One page of the module versions a device reports (at most 200 a page)."""
        return await self._invoke("ListOTAModuleVersionsByDevice", locals())  # type: ignore[no-any-return]

    def iter_ota_module_versions_by_device(
        self,
        *,
        iot_id: str | None = None,
        product_key: str | None = None,
        device_name: str | None = None,
        page_size: int | None = None,
        iot_instance_id: str | None = None,
        verify: bool = False,
    ) -> Harvest[OTAModuleVersion]:
        """Every module version a device reports; items in page order.

        ``verify=True`` reads the whole list a second time and raises ``HarvestError``
        when the two readings disagree beyond items added or deleted (README, Harvests).
        """
        return self._iterate("ListOTAModuleVersionsByDevice", locals())

    async def generate_device_name_list_url(
        self, *, iot_instance_id: str | None = None
    ) -> UploadTicket:
        """Get a ticket to upload a device-name list file (GenerateDeviceNameListURL)."""
        return await self._invoke("GenerateDeviceNameListURL", locals())  # type: ignore[no-any-return]
