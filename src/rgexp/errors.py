"""Exceptions that cross package boundaries.

``ConfigError`` is a bad input: the CLI prints its message as one line and exits non-zero before
any work or MLflow run starts. ``Interrupted`` is raised by long stages after they have handed a
checkpoint to their caller because a stop was requested (SIGINT/SIGTERM). ``StorageError`` is a
failed write to the artifact location (read-only, full, not a directory): the file that was being
replaced is left as it was, so the last checkpoint stays loadable.
"""


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and what is allowed."""


class Interrupted(RuntimeError):
    """A long stage stopped early on request, after checkpointing its state."""


class StorageError(RuntimeError):
    """Writing an artifact failed; the message names the file, the location and the OS's reason."""
