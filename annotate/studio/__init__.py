"""Everything that speaks Label Studio: the labeling config from the schema, tasks and results out, exports
in, and the server, connection, push and pull.
"""

from importlib.util import find_spec

STUDIO_EXTRA = "pip install 'annotate[studio]'"


class StudioExtraMissing(RuntimeError):
    """A command that speaks Label Studio, run where the `studio` extra is not installed."""


def require_studio(what: str, module: str = "label_studio_sdk") -> None:
    """Raise StudioExtraMissing, naming the extra to install, when `module` (the SDK, or `label_studio` for the
    server) is missing: the lean install (`pip install annotate`) scores, imports and exports without it."""
    if find_spec(module) is None:
        package = module.replace("_", "-")
        raise StudioExtraMissing(f"{what} needs Label Studio ({package} is not installed): {STUDIO_EXTRA}")
