"""The diff and the HTML page of audit reports (``otaclient.report``)."""
