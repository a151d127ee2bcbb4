"""Marking the library's texts that the dashboard shows, so they can be translated there.

The library speaks English (the CLI, logs, ``config.json``, tests): ``N_`` only marks a string for
``pybabel extract``, which collects it into the catalogue translators edit
(``locale/<lang>/LC_MESSAGES/venus.po``), and returns it unchanged. A message with values is
written as a template, ``N_("the {split} file does not exist").format(split=split)``: the template
is the catalogue's entry, and the dashboard (``ui.i18n.tr``) recognises the English message as an
instance of it, translates the template and puts the values back in. So the values of a template
must be data (a number, a file name, a column) or another marked message, never free English.

No dependency here: ``venus_core`` never imports streamlit, and never needs a translation.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - gettext's name for the marker
    """Mark ``message`` for translation; returns it as it is (English)."""
    return message


# Words the library puts into its messages as values, translated with them on the pages.
SPLIT_NAMES = (N_("train"), N_("validation"), N_("test"))
SEVERITIES = (N_("ERROR"), N_("WARNING"))


def plural(n: int, one: str, many: str) -> str:
    """``one`` or ``many`` (marked templates with ``{n}``) for the count ``n``: ``1 sequence``,
    ``2 sequences``."""
    return (one if n == 1 else many).format(n=n)
