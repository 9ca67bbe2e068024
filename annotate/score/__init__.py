"""Scoring extractors against the gold set: seqeval-exact entity scores, triggers, arguments, reports."""
