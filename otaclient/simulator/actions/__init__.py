"""The 26 OTA actions, by name.

Each handler takes an :class:`ActionContext` and returns the action-specific part of the
response (aliyun wire names); it raises :class:`~otaclient.simulator.errors.BusinessError`
for a ``Success=false`` answer. The envelope (``RequestId``, ``Success``, tuya's ``code``)
and the serialisation are the app's job.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import firmware, jobs, modules, tasks
from ._context import ActionContext, Handler, Tree

__all__ = ["ACTIONS", "ActionContext", "Handler", "Tree"]

#: Every implemented action name -> its handler.
ACTIONS: Mapping[str, Handler] = {
    **firmware.HANDLERS,
    **jobs.HANDLERS,
    **tasks.HANDLERS,
    **modules.HANDLERS,
}
