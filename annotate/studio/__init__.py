"""Label Studio adapters: a local server, connection settings, push and pull."""
