"""Audit reports read back from JSON; the public names are in :mod:`otaclient.report`.

Everything here consumes the report ``otaclient audit --format json`` writes (the dict
:func:`otaclient.audit.report_to_dict` returns), never the audit's own classes, so a report
saved last week works as well as one made a second ago.

* ``document.py``: a JSON report checked once and read as small typed views;
* ``diff.py``: two reports compared, job by job (``otaclient diff``);
* ``markup.py``: HTML built from pieces that escape every text by default;
* ``svg.py``: the colours of task statuses and the inline SVG bars of the charts;
* ``html.py`` and ``page.css``: the self-contained page of ``audit --format html``.
"""
