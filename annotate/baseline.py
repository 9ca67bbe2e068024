"""`annotate.baseline:extract`, the documented name of the baseline extractor, kept where users call it from
(the extractor itself lives in `annotate.predictions.baseline`)."""

from .predictions.baseline import extract

__all__ = ["extract"]
