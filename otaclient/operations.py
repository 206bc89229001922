"""The operation table, read-only: every action of the OTA API as data.

The same table the client validates, encodes and decodes with, and the typed methods and
the README's action table are generated from. Tools built on ``otaclient`` (the command
line among them) read a parameter's documented choices and limits here, so that they
never disagree with the client:

>>> from otaclient.operations import OPERATIONS
>>> job = OPERATIONS["CreateOTAStaticUpgradeJob"]
>>> job.param("maximum_per_minute").low, job.param("maximum_per_minute").high
(10, 10000)
>>> sorted(OPERATIONS)[:2]
['CancelOTAStrategyByJob', 'CancelOTATaskByDevice']

Entries are frozen; use them to describe, not to call (calls go through ``OTAClient``).
"""

from __future__ import annotations

from ._operation import Operation
from ._operations import OPERATIONS
from ._params import Param

__all__ = ["OPERATIONS", "Operation", "Param"]
