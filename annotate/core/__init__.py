"""The kernel every stage uses: the Document model, the schema, tokens, BIO tags and chunks, normalised keys,
surface spans, JSONL lines and atomic writes. It imports nothing outside `annotate.core`.
"""
