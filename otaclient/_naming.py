"""The naming rule of the public API: API names in, Python names out.

* An action's method is its name in snake_case, with ``OTA`` and ``URL`` as words
  (``GenerateOTAUploadURL`` -> ``generate_ota_upload_url``); a paged action's iterator is
  ``iter_`` and the same name without ``list_`` (``iter_ota_task_by_job``).
* A keyword is the wire name in snake_case (``IotId`` -> ``iot_id``); a repeat list takes
  the plural of a singular wire name (``SrcVersion.N`` -> ``src_versions``) and keeps an
  already-plural or ``...List`` one (``DeviceNames.N`` -> ``device_names``).
"""

from __future__ import annotations

import re

__all__ = ["iterator_name", "list_name", "snake_case"]


def snake_case(name: str) -> str:
    """``GenerateOTAUploadURL`` -> ``generate_ota_upload_url``; ``IotId`` -> ``iot_id``.

    >>> snake_case("ListOTATaskByJob"), snake_case("DnListFileUrl")
    ('list_ota_task_by_job', 'dn_list_file_url')
    """
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def list_name(wire: str) -> str:
    """The keyword of a repeat or struct list.

    >>> list_name("SrcVersion"), list_name("DeviceNames"), list_name("TaskStatusList")
    ('src_versions', 'device_names', 'task_status_list')
    """
    snake = snake_case(wire)
    return snake if wire.endswith(("s", "List")) else f"{snake}s"


def iterator_name(action: str) -> str:
    """The ``iter_*`` method of a paged action.

    >>> iterator_name("ListOTAJobByFirmware")
    'iter_ota_job_by_firmware'
    """
    return "iter_" + snake_case(action).removeprefix("list_")
