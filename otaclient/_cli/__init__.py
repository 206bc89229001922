"""The ``otaclient`` command line; the entry point is :func:`otaclient.cli.main`.

* ``app.py``: the ``otaclient`` group and its --help;
* ``options.py``: connection options, accepted by the group and by every subcommand;
* ``connect.py``: a client for those options (a real endpoint, or the in-process simulator);
* ``failures.py``: every failure as one line on stderr and a non-zero exit, no traceback;
* ``output.py``: records as table, json, jsonl or csv;
* ``live.py``: the audit's live progress display (stderr, terminals only);
* ``audit_cmd.py`` and ``report_view.py``: ``otaclient audit`` and its report's formats;
* ``listing.py``: what the list subcommands share;
* ``firmware_cmd.py``, ``jobs_cmd.py``, ``tasks_cmd.py``: one subcommand per API action;
* ``writes.py``: what the write subcommands share (``--dry-run``, confirmation, each call
  sent once, the command to check with after an ambiguous answer);
* ``simulate_cmd.py``: ``otaclient simulate``.
"""
