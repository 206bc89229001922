"""The ``otaclient`` command line; the entry point is :func:`otaclient.cli.main`.

* ``app.py``: the ``otaclient`` group and its --help;
* ``options.py``: connection options, accepted by the group and by every subcommand,
  documented once; the client's pace and patience (``--qps``, ``--no-rate-limit``);
* ``connect.py``: a client for those options (a real endpoint, or the in-process simulator);
* ``failures.py``: every failure as one line on stderr and a non-zero exit, no traceback;
* ``activity.py``: retries (and with ``-v`` every attempt) as lines on stderr;
* ``destination.py``: the output checked before the first request, written whole or not;
* ``output.py``: records as table, json, jsonl or csv;
* ``tables.py``: tables that fit a width, ids and statuses whole;
* ``live.py``: the audit's live progress display (stderr, terminals only);
* ``audit_cmd.py`` and ``report_view.py``: ``otaclient audit`` and its report's formats;
* ``listing.py``: what the list subcommands share;
* ``firmware_cmd.py``, ``jobs_cmd.py``, ``tasks_cmd.py``: one subcommand per API action;
* ``writes.py``: what the write subcommands share (``--dry-run``, confirmation, each call
  sent once, the command to check with after an ambiguous answer);
* ``simulate_cmd.py``: ``otaclient simulate``.
"""
