"""Gold and predicted Documents (or CoNLL tags) in, a report out: seqeval scores of entities, triggers and
arguments, error breakdowns, bootstrap intervals, errors in context and leaderboards.
"""
