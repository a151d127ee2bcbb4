"""The dashboard in English and Chinese: gettext catalogues, one language per browser session.

Strings of the pages are marked ``_("...")`` (translated where they are shown) or ``N_("...")``
(marked only, translated later with ``_``); ``pybabel extract`` collects both, and the library's
``N_`` marks (``venus_core.i18n``), into ``locale/<lang>/LC_MESSAGES/venus.po`` (``make i18n``).
The catalogue is read from that ``.po`` file at run time (compiled in memory by Babel into a
standard ``gettext.GNUTranslations``), so a translator's edit shows on the next page load with no
build step, and there is no compiled file to forget.

Streamlit serves every session from one process, so nothing here is process-global: each call
reads the session's own language (``st.session_state[keys.LANG]``), chosen in the sidebar
(``switch``) and remembered in the link (``?lang=zh``) and in the save directory's preferences;
a new session without either follows the browser's language (``st.context.locale``).

The library's messages (data doctor, config validation, run events) arrive as English text built
from marked templates (``N_("the {split} file does not exist").format(split=...)``); ``tr``
recognises such a text as an instance of its template, translates the template and puts the values
back in (translating those that are marked messages themselves, such as split names).
"""

from __future__ import annotations

import gettext
import io
import re
import string
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import keys

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "venus"
DEFAULT = "en"
# The languages of the switch, each in its own name; the gettext catalogue folder of each.
LANGUAGES = {"en": "English", "zh": "中文"}
CATALOGUE_DIRS = {"zh": "zh_CN"}


def N_(message: str) -> str:  # noqa: N802 - gettext's name for the marker
    """Mark ``message`` for translation without translating it now (show it with ``_``)."""
    return message


# TRANSLATORS: joins the items of a list inside a message ("train, validation, test").
LIST_SEPARATOR = N_(", ")
# TRANSLATORS: ends a sentence that has no end mark of its own (English ".", Chinese "。").
FULL_STOP = N_(".")
_END_MARKS = (".", "?", "!", "…", "。", "？", "！")


# -- catalogues -----------------------------------------------------------------------------------


class Catalogue:
    """One language's translations: ``gettext`` for the pages' strings, ``translate`` for the
    library's English messages (exact, or an instance of a template with ``{placeholders}``)."""

    def __init__(self, translations: gettext.NullTranslations, strings: dict[str, str]) -> None:
        self.translations = translations
        self.gettext = translations.gettext
        self.strings = strings  # msgid -> translation, the translated entries only
        self.templates = sorted(
            (t for msgid in strings if (t := _Template.parse(msgid)) is not None),
            key=lambda t: -t.specificity,
        )
        self._memo: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def translate(self, message: str) -> str:
        """``message`` in this language; unchanged when no entry or template matches it."""
        found = self._lookup(message)
        return message if found is None else found[1]

    # A message may fit several templates (their placeholders match anything): the reading kept is
    # the one that explains most of the message's text with catalogue entries, its values included
    # ("split from train with split_ratios 0.8/0.1/0.1, seed 42" is "{how}, seed {seed}" around
    # another template, not one template with a long, untranslated "{ratios}"). Between readings
    # that explain as much, the one that wraps a message in a template's leading placeholder wins:
    # that is how the library adds an optional part ("{how}, stratified by label"), whereas a
    # trailing "{ratios}" that swallowed that part would put it in the middle of the translation.

    def _lookup(self, message: str) -> tuple[int, str] | None:
        """(characters explained by the catalogue, translation), or None."""
        with self._lock:
            if message in self._memo:
                return self._memo[message]
        found = self._find(message)
        with self._lock:
            if len(self._memo) > 20_000:
                self._memo.clear()
            self._memo[message] = found
        return found

    def _find(self, message: str) -> tuple[int, str] | None:
        if not message.strip():
            return None
        exact = self.strings.get(message)
        if exact is not None:
            return len(message), exact
        best: tuple[int, str] | None = None
        best_rank = (-1, False)
        for template in self.templates:
            if best_rank == (len(message), True):
                break  # the whole message is explained, as a wrapped message
            values = template.match(message)
            if values is None:
                continue
            score, filled, wraps = template.specificity, {}, False
            for name, value in values.items():
                explained, filled[name] = self._value(value)
                score += explained
                wraps = wraps or (name == template.leading and explained > 0)
            if (score, wraps) > best_rank:
                best, best_rank = (score, template.fill(self.strings[template.msgid], filled)), (score, wraps)
        return best

    def _value(self, value: str) -> tuple[int, str]:
        """A value taken out of a message: translated when it is a marked message (or a list of
        them), else kept (a number, a file name, a column); with the characters explained."""
        found = self._lookup(value) if value else None
        separator = ", "
        if separator in value:
            parts = [self._lookup(p) for p in value.split(separator)]
            if all(p is not None for p in parts):
                explained = sum(p[0] for p in parts) + len(separator) * (len(parts) - 1)  # type: ignore[index]
                if found is None or explained > found[0]:
                    joined = self.strings.get(LIST_SEPARATOR, separator).join(p[1] for p in parts)  # type: ignore[index]
                    return explained, joined
        return found if found is not None else (0, value)


class _Template:
    """A msgid with named placeholders, as a pattern that recognises the messages made from it."""

    def __init__(
        self, msgid: str, pattern: re.Pattern, specificity: int, anchor: str, leading: str | None
    ) -> None:
        self.msgid, self.pattern, self.specificity, self.anchor = msgid, pattern, specificity, anchor
        self.leading = leading  # the placeholder the msgid starts with ("{how}, seed {seed}"), if any

    @classmethod
    def parse(cls, msgid: str) -> _Template | None:
        try:
            parts = list(string.Formatter().parse(msgid))
        except ValueError:  # literal braces: a plain string
            return None
        if not any(field is not None for _lit, field, _spec, _conv in parts):
            return None
        pattern, seen, literals = "", set(), []
        for literal, field, _spec, _conv in parts:
            pattern += re.escape(literal)
            literals.append(literal)
            if field is None:
                continue
            if not field.isidentifier():
                return None  # "{0}", "{a.b}", or braces of a plain string: not a template
            pattern += f"(?P={field})" if field in seen else f"(?P<{field}>.*?)"
            seen.add(field)
        text = "".join(literals)
        if sum(c.isalpha() for c in text) < 3:
            return None  # "{a} {b}" would claim any message
        leading = parts[0][1] if parts[0][0] == "" else None
        return cls(msgid, re.compile(pattern, re.DOTALL), len(text), max(literals, key=len), leading)

    def match(self, message: str) -> dict[str, str] | None:
        if self.anchor not in message:
            return None
        m = self.pattern.fullmatch(message)
        return m.groupdict() if m else None

    @staticmethod
    def fill(translated: str, values: dict[str, str]) -> str:
        """The translated template with the values (already formatted text) in its placeholders."""
        out = []
        for literal, field, _spec, _conv in string.Formatter().parse(translated):
            out.append(literal)
            if field is not None:
                out.append(values.get(field, "{" + field + "}"))
        return "".join(out)


_CATALOGUES: dict[str, tuple[int, Catalogue]] = {}
_LOAD_LOCK = threading.Lock()
_ENGLISH = Catalogue(gettext.NullTranslations(), {})


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / CATALOGUE_DIRS[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogue(lang: str, *, refresh: bool = False) -> Catalogue:
    """The catalogue of ``lang`` (English: none), read once per process and again when the
    ``.po`` file changed (checked when ``refresh``: once per script run)."""
    if lang not in CATALOGUE_DIRS:
        return _ENGLISH
    cached = _CATALOGUES.get(lang)
    if cached is not None and not refresh:
        return cached[1]
    path = catalogue_path(lang)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return _ENGLISH
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _LOAD_LOCK:
        loaded = _load(path, lang)
        _CATALOGUES[lang] = (stamp, loaded)
    return loaded


def _load(path: Path, lang: str) -> Catalogue:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        po = read_po(f, locale=CATALOGUE_DIRS[lang], domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, po, use_fuzzy=False)  # fuzzy entries (not yet reviewed) stay English
    mo.seek(0)
    strings = {  # for ``translate``: the library's messages have no context
        m.id: m.string
        for m in po
        if m.id
        and isinstance(m.id, str)
        and isinstance(m.string, str)
        and m.string
        and not m.fuzzy
        and not m.context
    }
    return Catalogue(gettext.GNUTranslations(mo), strings)


# -- the session's language -----------------------------------------------------------------------


# Outside a script run there is no session: the language of the last run started in this process
# (only tests get there: AppTest formats a widget's options after the run, a unit test calls a helper).
_last_run_language = DEFAULT
_pinned = threading.local()  # a language fixed for a call made later (``now``), per thread


def current() -> str:
    """This session's language."""
    pinned = getattr(_pinned, "lang", None)
    if pinned is not None:
        return pinned
    if get_script_run_ctx(suppress_warning=True) is None:
        return _last_run_language
    lang = st.session_state.get(keys.LANG)
    return lang if lang in LANGUAGES else DEFAULT


def now(fn: Callable[[Any], str]) -> Callable[[Any], str]:
    """``fn`` (a widget's ``format_func``) in this session's language even when it is called
    later, outside this run (AppTest formats a widget's options after the run)."""
    lang = current()

    def in_language(value: Any) -> str:
        before, _pinned.lang = getattr(_pinned, "lang", None), lang
        try:
            return fn(value)
        finally:
            _pinned.lang = before

    return in_language


def _(message: str) -> str:
    """``message`` (a page's string) in this session's language."""
    lang = current()
    return message if lang == DEFAULT else catalogue(lang).gettext(message)


def pgettext(context: str, message: str) -> str:
    """``message`` in this session's language, where the same English word means several things
    (``pgettext("split", "Train")`` is the training set, ``_("Train")`` the page)."""
    lang = current()
    return message if lang == DEFAULT else catalogue(lang).translations.pgettext(context, message)


def tr(message: Any) -> str:
    """A message of the library (English text from a marked template) in this session's language;
    several lines are translated one by one (a "- " bullet kept)."""
    text = "" if message is None else str(message)
    lang = current()
    if lang == DEFAULT or not text:
        return text
    cat = catalogue(lang)
    if "\n" not in text:
        return cat.translate(text)
    lines = []
    for line in text.split("\n"):
        bullet = re.match(r"\s*[-*] ", line)
        head = bullet.group(0) if bullet else ""
        lines.append(head + cat.translate(line[len(head) :]))
    return "\n".join(lines)


def end_sentence(text: str) -> str:
    return text if text.rstrip().endswith(_END_MARKS) else text + _(FULL_STOP)


def join(items: list[str]) -> str:
    """Items of a list, joined as this language lists things."""
    return _(LIST_SEPARATOR).join(items)


def language_from_locale(locale: str | None) -> str | None:
    """The dashboard language for a browser locale (``zh-CN``, ``zh-Hant-TW`` -> ``zh``)."""
    if not locale:
        return None
    code = locale.replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def initial_language(param: str | None, saved: str | None, locale: str | None) -> str:
    """A new session's language: the link's, else the one chosen last on this machine, else the
    browser's, else English."""
    for choice in (param, saved, language_from_locale(locale)):
        if choice in LANGUAGES:
            return choice
    return DEFAULT


def init(read_saved: Callable[[], str | None]) -> str:
    """At the start of every script run: this session's language (chosen once per session, or by
    the switch), its catalogue reloaded if the ``.po`` file changed."""
    if keys.LANG not in st.session_state:
        try:
            locale = st.context.locale
        except Exception:  # noqa: BLE001 - no browser context (AppTest)
            locale = None
        st.session_state[keys.LANG] = initial_language(
            st.query_params.get(keys.LANG_PARAM), read_saved(), locale
        )
    global _last_run_language
    lang = _last_run_language = current()
    catalogue(lang, refresh=True)
    return lang


def switch(on_change: Callable[[str], None]) -> None:
    """The language switch (English / 中文); ``on_change(lang)`` remembers a new choice."""
    if st.session_state.get(keys.LANG_SWITCH) not in LANGUAGES:
        st.session_state[keys.LANG_SWITCH] = current()

    def changed() -> None:
        chosen = st.session_state.get(keys.LANG_SWITCH)
        if chosen not in LANGUAGES:  # clicking the selected option unselects it: keep the language
            st.session_state[keys.LANG_SWITCH] = current()
            return
        st.session_state[keys.LANG] = chosen
        on_change(chosen)

    st.segmented_control(
        _("Language"),
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key=keys.LANG_SWITCH,
        on_change=changed,
        label_visibility="collapsed",
        help=_("The dashboard's language; remembered in the link and on this machine."),
    )
