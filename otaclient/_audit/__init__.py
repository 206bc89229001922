"""The fleet audit's implementation; the public names are in :mod:`otaclient.audit`.

* ``report.py``: the frozen result classes (TaskSummary, DeviceIssue, JobReport, ...);
* ``tally.py``: one job's streaming accumulator (counts, bounded failed/stuck lists);
* ``progress.py``: the progress snapshot, the callback protocol, the tracker behind them;
* ``crew.py``: a fan-out that raises its first failure itself, not an ExceptionGroup;
* ``run.py``: ``audit_fleet`` (packages -> batches -> device tasks, each list read with
  the client's own harvest, fanned out across lists);
* ``export.py``: a report as JSON-ready dicts.
"""
