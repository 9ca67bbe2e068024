"""The toolkit's version, named in every report and build (`annotate.__version__` re-exports it; the wheel's
version is read from here by setuptools)."""

__version__ = "0.1.0"
