"""Precision / recall / F1 tables from matched sets, computed the way seqeval computes them.

The arithmetic mirrors seqeval's `precision_recall_fscore_support` (numpy float64, zero division -> 0,
macro = unweighted mean over types in sorted order, weighted = mean weighted by support), so a table built
here from the same entity sets carries the very same floats as seqeval's `classification_report`.
With no entity of any type on either side seqeval's macro average is NaN (the mean of an empty array); here it
is None (`null` in JSON, which has no NaN, and "—" in tables): not a 0.0 that reads as a measured failure.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=np.float64)
    safe = np.where(den == 0.0, 1.0, den)
    return np.where(den == 0.0, 0.0, num / safe)


def prf_arrays(tp, npred, ntrue) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one precision / recall / F1 of the toolkit, on arrays of any shape (elementwise), zero division -> 0:
    every table, the agreement between annotators and the bootstrap's resamples come from here."""
    tp = np.asarray(tp, dtype=np.float64)
    precision = _divide(tp, npred)
    recall = _divide(tp, ntrue)
    return precision, recall, f1_from(precision, recall)


def f1_from(precision, recall) -> np.ndarray:
    """The harmonic mean of precision and recall (0 when both are 0), elementwise."""
    precision, recall = np.asarray(precision, dtype=np.float64), np.asarray(recall, dtype=np.float64)
    denom = precision + recall
    return np.where(denom == 0.0, 0.0, 2 * precision * recall / np.where(denom == 0.0, 1.0, denom))


def ratio(part, whole) -> float:
    """part / whole, 0 when whole is 0 (a precision or a recall counted on its own)."""
    return float(_divide(np.asarray(part, dtype=np.float64), whole))


def _row(p, r, f, tp, npred, ntrue) -> dict:
    return {"precision": float(p), "recall": float(r), "f1": float(f), "tp": int(tp), "fp": int(npred - tp),
            "fn": int(ntrue - tp), "support": int(ntrue)}


def prf_table(true_by_type: dict[str, set[Hashable]], pred_by_type: dict[str, set[Hashable]]) -> dict:
    """Per-type, micro, macro and weighted precision/recall/F1 with tp/fp/fn/support."""
    names = sorted(set(true_by_type) | set(pred_by_type))
    tp = np.array([len(true_by_type.get(n, set()) & pred_by_type.get(n, set())) for n in names], dtype=np.int64)
    npred = np.array([len(pred_by_type.get(n, ())) for n in names], dtype=np.int64)
    ntrue = np.array([len(true_by_type.get(n, ())) for n in names], dtype=np.int64)
    return prf_from_counts(names, tp, npred, ntrue)


def prf_from_counts(names: list[str], tp: np.ndarray, npred: np.ndarray, ntrue: np.ndarray) -> dict:
    p, r, f = prf_arrays(tp, npred, ntrue)
    per_type = {n: _row(p[i], r[i], f[i], tp[i], npred[i], ntrue[i]) for i, n in enumerate(names)}
    T, P, S = (np.array([x.sum()]) for x in (tp, npred, ntrue))
    mp, mr, mf = prf_arrays(T, P, S)
    micro = _row(mp[0], mr[0], mf[0], T[0], P[0], S[0])
    if names:
        macro = {"precision": float(np.average(p)), "recall": float(np.average(r)), "f1": float(np.average(f)),
                 "support": int(S[0])}
        if S[0] == 0:
            zero = 0.0
            weighted = {"precision": zero if P[0] == 0 else 0.0, "recall": zero, "f1": zero if P[0] == 0 else 0.0,
                        "support": 0}
        else:
            weighted = {"precision": float(np.average(p, weights=ntrue)),
                        "recall": float(np.average(r, weights=ntrue)),
                        "f1": float(np.average(f, weights=ntrue)), "support": int(S[0])}
    else:
        macro = {"precision": None, "recall": None, "f1": None, "support": 0}  # seqeval: NaN
        weighted = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    return {"per_type": per_type, "micro": micro, "macro": macro, "weighted": weighted}


def simple_prf(tp: int, npred: int, ntrue: int) -> dict:
    p, r, f = prf_arrays(np.array([tp]), np.array([npred]), np.array([ntrue]))
    return _row(p[0], r[0], f[0], tp, npred, ntrue)
