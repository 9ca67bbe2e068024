"""Articles in: text or JSONL article files -> validated Documents (`ingest`) -> Label Studio tasks, streamed
to a JSON or JSONL tasks file (`taskstream`).
"""
