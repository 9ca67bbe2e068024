"""annotate: Arabic news articles -> Label Studio -> gold entity-and-event dataset -> extractor scores."""

from .core.version import __version__

__all__ = ["__version__"]
