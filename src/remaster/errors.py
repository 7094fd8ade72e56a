"""Errors that reach a user as one clear line: what went wrong, where, and what is allowed."""


class SoriError(Exception):
    """Base class: its message is shown as-is, without a traceback."""


class AudioError(SoriError):
    """Unreadable, corrupt or unsupported audio, or audio the chain cannot master."""


class PresetError(SoriError):
    """A preset that does not validate: names the file, the key path and what is allowed."""


class ProcessingError(SoriError):
    """A processor could not do its job on this input."""
