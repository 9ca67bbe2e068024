"""Predictions in: JSONL records, Label Studio predictions, an extractor command or callable, the baseline
extractor -> Documents to score, with rejected records named (`records`, `index`, `sources`, `extractor`).
"""
