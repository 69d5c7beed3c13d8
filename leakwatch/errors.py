"""Errors that reach the user as one line and exit code 2."""


class LeakwatchError(Exception):
    """An error the user can act on: bad input, bad configuration, missing key.

    The message is one line and names what and where (``file:line: reason``).
    It must never contain a protected value.
    """

    exit_code = 2


class InputError(LeakwatchError):
    """Malformed input file, schema or document."""


class ConfigError(LeakwatchError):
    """Bad settings, key file or source definition."""
