"""Client inventory and compliance: every input (API batches, status text, CSV files, KMS event
12290 exports) ends in one set-based upsert; the rules flag each client; the sweep re-flags them
as time passes; the digest tells the admins. One module per job:

- `records`: checks one record and turns it into a line of COPY text;
- `upsert`: the staging tables, the locking merge, the flags and history it writes;
- `ingest`: a batch of records (the API) answered per record;
- `csv_import`, `events`, `status_text`: the other inputs, each ending in the upsert;
- `runs`: who may import, the import history, refused inputs, the rejection report;
- `rules`: the compliance rules as SQL; `sweep`: re-flagging and the after-ingest queueing;
- `digest`: the daily e-mail of newly flagged clients.
"""
