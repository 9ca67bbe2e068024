"""annotate: Arabic news articles -> Label Studio -> gold entity-and-event dataset -> extractor scores.

The Python API; each name is imported on first use, so `import annotate` (and the command line's `--help`)
stays fast:

    import annotate
    gold = annotate.load_gold("gold/dataset")                   # list of annotate.Document
    report = annotate.score_predictions(gold, predictions)     # the dict `annotate score --json` writes
    schema = annotate.load_schema("my-schema.yaml")            # or annotate.schema_from_config(xml)
"""

from .core.version import __version__

__all__ = ["__version__", "load_gold", "score_predictions", "Document", "Entity", "Event", "Span", "Argument",
           "Schema", "load_schema", "schema_from_config"]


def __getattr__(name: str):
    if name in ("load_gold", "score_predictions"):
        from . import api

        return getattr(api, name)
    if name in ("Document", "Entity", "Event", "Span", "Argument"):
        from .core import model

        return getattr(model, name)
    if name in ("Schema", "load_schema"):
        from .core import schema

        return getattr(schema, name)
    if name == "schema_from_config":
        from .studio.labelconfig import schema_from_config

        return schema_from_config
    raise AttributeError(f"module 'annotate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
