"""The one exception type the command line turns into a one-line message."""


class ZhenError(Exception):
    """A failure the user can act on (bad input, missing model, ...).

    The message is shown as is, without a traceback, so it should say what
    went wrong and what to do about it.
    """
