"""The durable job queue in the store, and the worker that runs it.

A job is a row enqueued in the same transaction as the change that caused it. A worker claims
one (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers on several machines share the queue;
SQLite runs one worker) and runs it *inside the claiming transaction*, marking it done before
the commit: a worker killed mid-job commits nothing, the job stays ready, and the next worker
runs it once. Jobs are functions registered by name in each app's ``tasks.py``; payloads carry
ids, never rows.
"""
