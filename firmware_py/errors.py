"""Errors a user can act on. The CLI prints their message in one line and exits non-zero."""


class WakegateError(Exception):
    """Base for every error that is the user's input, not a bug."""


class ConfigError(WakegateError):
    """A config file or flag is wrong."""


class AudioError(WakegateError):
    """An audio file, stream or device cannot be used."""


class ModelError(WakegateError):
    """A model file is missing, not a model, or lacks the metadata the runtime needs."""
