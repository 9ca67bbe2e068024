"""annotate: Arabic news articles -> Label Studio -> gold entity-and-event dataset -> extractor scores."""

__version__ = "0.1.0"
