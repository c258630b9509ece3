"""Serving the data directory's reports (read-only) and linking to them, and the CLI's progress.

Nothing here knows Dagster: ``links`` turns a report's path into the URL the report server
serves it at, ``server`` is that server (stdlib ``http.server``), ``progress`` shows counts,
elapsed time and ETA of long CLI stages.
"""
