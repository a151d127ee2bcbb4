"""The one exception type for mistakes a user can make and fix."""


class VenusError(Exception):
    """A user-fixable problem: bad input file, unknown model, invalid option.

    The message names what is wrong (file, row, column, value) and how to fix it. The CLI prints
    it without a traceback and exits non-zero; the dashboard shows it with ``st.error``.
    """


class Aborted(Exception):
    """The user asked to stop (Abort button, Ctrl-C): raised at the next step, batch or epoch."""
