"""Everything that speaks Label Studio: the labeling config from the schema, tasks and results out, exports
in, and the server, connection, push and pull.
"""
