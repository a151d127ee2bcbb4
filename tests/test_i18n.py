"""The dashboard's translations: the catalogue is complete and well-formed, every string the pages
show is marked, the library's messages are recognised and translated, and the language is chosen,
remembered and kept per session.

When ``test_every_marked_string_is_translated`` fails: run ``make i18n`` and translate the entries it
lists in ``locale/zh_CN/LC_MESSAGES/venus.po`` (empty ``msgstr``, or ``#, fuzzy`` ones to review).
"""

from __future__ import annotations

import ast
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ui import i18n

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_CN" / "LC_MESSAGES" / "venus.po"
# What `make i18n` runs (keep the two alike).
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "--sort-output", "--no-wrap"]


def _po():
    with PO.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Every marked string of the pages and the library, extracted now (as `make i18n` does)."""
    pot = tmp_path_factory.mktemp("i18n") / "venus.pot"
    cmd = [
        sys.executable,
        "-c",
        "from babel.messages.frontend import main; main()",
        *EXTRACT,
        "-o",
        str(pot),
        ".",
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        return [m for m in read_po(f) if m.id]


@pytest.fixture(scope="module")
def zh():
    return i18n.catalogue("zh")


def test_every_marked_string_is_translated(extracted):
    po = _po()
    untranslated = []
    for m in extracted:
        entry = po.get(m.id, context=m.context)
        if entry is None or not entry.string or entry.fuzzy:
            untranslated.append(m.id if not m.context else f"{m.context}|{m.id}")
    assert not untranslated, (
        f"{len(untranslated)} string(s) without a Chinese translation; run `make i18n` and translate them "
        f"in {PO.relative_to(ROOT)}:\n" + "\n".join(untranslated)
    )
    assert len(extracted) > 600  # the extraction itself works (keywords, babel.cfg)


def _fields(text: str) -> list[tuple[str, str]]:
    return sorted(
        (field, spec) for _lit, field, spec, _conv in string.Formatter().parse(text) if field is not None
    )


OPTION = re.compile(r"(?<![A-Za-z0-9_])[a-z0-9]+(?:_[a-z0-9]+)+(?![A-Za-z0-9_])")


def test_translations_keep_placeholders_markup_and_code():
    """A translation has the msgid's placeholders (same format specs), its Markdown (bold, code
    spans) and its option names (num_labels ...: the pages swap them for the fields' labels)."""
    from venus_core.config import FIELD_INFO

    problems = []
    for m in _po():
        if not m.id or not m.string:
            continue
        if "python-brace-format" in m.flags:
            try:
                if _fields(m.id) != _fields(m.string):
                    problems.append(f"placeholders differ: {m.id!r} -> {m.string!r}")
            except ValueError as e:
                problems.append(f"unparsable braces ({e}): {m.string!r}")
        for mark in ("**", "`"):
            if m.id.count(mark) != m.string.count(mark):
                problems.append(f"{mark} differs: {m.id!r} -> {m.string!r}")
        missing = (set(OPTION.findall(m.id)) & set(FIELD_INFO)) - set(OPTION.findall(m.string))
        if missing:
            problems.append(f"code values {sorted(missing)} dropped: {m.id!r} -> {m.string!r}")
    assert not problems, "\n".join(problems)


def test_templates_are_unambiguous():
    """The pages parse a message back into its template's values: two placeholders are never side
    by side ("{a}{b}" has no one reading; write the optional part as a template around the other),
    and a placeholder that appears twice has one format."""
    bad = []
    for m in _po():
        if m.id and "python-brace-format" in m.flags:
            seen: dict[str, str] = {}
            for _lit, field, spec, _conv in string.Formatter().parse(m.id):
                if field is not None and seen.setdefault(field, spec) != spec:
                    bad.append(m.id)
            if "}{" in m.id.replace("{{", "").replace("}}", ""):
                bad.append(m.id)
    assert not bad, bad


def test_the_texts_the_pages_take_from_the_library_are_translated(zh):
    """Field labels and help, metric titles and help, method labels and notes, page titles, model
    notes and demo descriptions: a string added to a registry without N_ fails here."""
    from ui import nav
    from venus_core import assets, methods, models, vocab
    from venus_core.config import FIELD_INFO

    texts = []
    for fld in FIELD_INFO.values():
        texts += [fld.metadata["label"], fld.metadata["help"]]
    for spec in vocab.METRICS.values():
        texts += [spec.title, spec.help, *(t for _pt, t in spec.titles)]
    for method in methods.METHODS.values():
        texts += [t for t in (method.label, method.note, method.fsdp_refusal) if t]
    for page in nav.PAGES.values():
        texts += [t for t in (page.title, page.step) if t]
    texts += [e.note for e in models.catalogue_entries() if e.note] + [models.embedded_entry().name]
    texts += [meta["description"] for meta in assets.DEMO_DATASETS.values()]
    missing = [t for t in texts if t not in zh.strings]
    assert not missing, missing


def test_library_messages_are_recognised_and_translated(zh, tmp_path):
    """The data doctor's and config validation's messages, as the library writes them, come out
    wholly Chinese: template and values (split names, counts, plurals, nested messages)."""
    from venus_core import doctor
    from venus_core.config import RunConfig

    bad = tmp_path / "bad.csv"
    rows = ["aa_seq,label", "MKTAYIAKQR,0", "MKTAYIAKQR,1", "mk tz1,0", ",1", "GLFDIVKK,x"]
    rows += [f"{'ACDEFGHIK'[i % 9] * (5 + i)},{i % 2}" for i in range(30)]
    bad.write_text("\n".join(rows) + "\n")
    cfg = RunConfig().with_values(
        dataset=None,
        train_file=str(bad),
        problem_type="single_label_classification",
        num_labels=2,
        max_seq_len=8,
        leakage_report=False,
    )
    report = doctor.check(cfg)
    messages = [
        text for issue in report.errors + report.warnings for text in (issue.message, issue.fix) if text
    ]
    messages += list(report.stats["derived"].values())
    messages += (
        RunConfig().with_values(batch_size=0, lora_dropout=1.5, split_identity=30.0, device="gpu").problems()
    )
    assert len(messages) > 10
    untranslated = [m for m in messages if zh.translate(m) == m]
    assert not untranslated, untranslated
    # values come back translated too: a split name, a plural, a nested template
    assert zh.translate(
        "train has 3 sequences longer than max_seq_len 8: they will be truncated, never dropped"
    ) == ("训练集中有 3 条序列长于 max_seq_len 8：它们会被截断，不会被丢弃")
    assert zh.translate("the given train, test splits were pooled (9 rows) and re-split: x") == (
        "给定的 训练集、测试集 子集已合并（9 行）并重新划分：x"
    )
    # an optional part added around a message stays at its end, not inside the message's last value
    assert zh.translate("split from train with split_ratios 0.8/0.1/0.1, seed 42, stratified by label") == (
        "按 split_ratios 0.8/0.1/0.1 从训练集中划分，种子 42，按标签分层"
    )


def test_untranslatable_text_stays_as_it_is(zh):
    assert zh.translate("/data/train.csv") == "/data/train.csv"
    assert zh.translate("") == ""
    # a generic template ("{a} {b}") never claims a message
    assert all(t.specificity >= 3 for t in zh.templates)


def test_language_of_a_new_session():
    assert i18n.language_from_locale("zh-CN") == "zh"
    assert i18n.language_from_locale("zh-Hant-TW") == "zh"
    assert i18n.language_from_locale("en-GB") == "en"
    assert i18n.language_from_locale("fr-FR") is None
    assert i18n.language_from_locale(None) is None
    # the link, then the choice saved on this machine, then the browser, then English
    assert i18n.initial_language("zh", "en", "en-US") == "zh"
    assert i18n.initial_language(None, "zh", "en-US") == "zh"
    assert i18n.initial_language("xx", None, "zh-CN") == "zh"
    assert i18n.initial_language(None, None, "de-DE") == "en"


def test_catalogue_reloads_when_the_po_file_changes(tmp_path, monkeypatch):
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "venus.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\nmsgid "Start"\nmsgstr "开始"\n'
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_CATALOGUES", {})
    assert i18n.catalogue("zh", refresh=True).gettext("Start") == "开始"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Start"\nmsgstr "启动"\n\n#, fuzzy\nmsgid "Abort"\nmsgstr "中止?"\n'
    )
    import os

    os.utime(po, ns=(po.stat().st_atime_ns, po.stat().st_mtime_ns + 10**9))
    fresh = i18n.catalogue("zh", refresh=True)
    assert fresh.gettext("Start") == "启动"
    assert fresh.gettext("Abort") == "Abort"  # fuzzy: not reviewed yet, shown in English


# -- every string of the pages is marked ------------------------------------------------------------

UI_FILES = [ROOT / "Home.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "app_pages").glob("*.py"))]
MARKERS = {"_", "N_", "pgettext"}
# Keyword arguments whose strings are code, not text.
CODE_KWARGS = {
    "key",
    "icon",
    "type",
    "mime",
    "file_name",
    "format",
    "language",
    "url_path",
    "colorscale",
    "line_dash",
    "line_color",
    "template",
    "mode",
    "hovermode",
    "barmode",
    "texttemplate",
    "annotation_position",
    "histnorm",
    "rangemode",
    "autorange",
    "anchor",
    "page_icon",
    "layout",
    "gap",
    "width",
    "vertical_alignment",
    "on_click",
    "label_visibility",
    "selection_mode",
}
# Strings that are shown but are not English words to translate.
NOT_TEXT = {"Venus Fine-tune", "English", "中文", "Viridis"}  # Viridis: a colour scale


def _prose(text: str) -> bool:
    """Looks like words for a person: two words of letters, or a capitalised word."""
    words = re.findall(r"[A-Za-z]{2,}", text)
    if not words or text in NOT_TEXT or text.startswith(">"):  # ">": a FASTA example
        return False
    if re.search(
        r'data-testid|\{[a-z-]+: |</?(?:div|span|style|script|svg)\b|[a-z-]+="', text
    ):  # CSS, HTML, SVG
        return False
    if " " not in text.strip():  # one token: prose only if it is a capitalised word ("Status")
        return bool(re.fullmatch(r"[A-Z][a-z]+", text))
    return len(words) >= 2


def _unmarked(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        # docstrings
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in MARKERS:
                for sub in ast.walk(node):
                    skip.add(id(sub))
            for kw in node.keywords:
                if kw.arg in CODE_KWARGS:
                    for sub in ast.walk(kw.value):
                        skip.add(id(sub))
        if isinstance(node, ast.Subscript):  # st.session_state["..."], row["name"]
            for sub in ast.walk(node.slice):
                skip.add(id(sub))
        if isinstance(node, ast.Compare):  # status == "completed"
            for sub in ast.walk(node):
                skip.add(id(sub))
    found = []
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
        if text is not None and id(node) not in skip and _prose(text):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_every_string_of_the_pages_is_marked():
    """A page string outside _()/N_() would never reach the catalogue (and stay English in Chinese)."""
    found = [line for path in UI_FILES for line in _unmarked(path)]
    assert not found, "mark these with _() (or N_() where translated later):\n" + "\n".join(found)


def test_marked_strings_are_literals():
    """pybabel extracts string literals only: _(f"...") or _(variable) would never be translated."""
    bad = []
    for path in UI_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "N_") and node.args:
                arg = node.args[0]
                literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                if not literal and path.name not in ("i18n.py",):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(arg)}")
    # Translating a value that is itself a marked string (a registry entry) is fine: allow-listed by
    # name below; anything else is a mistake.
    allowed = {
        "spec.title",
        "spec.step",
        "field_label(name)",
        "field_help(name)",
        "method.note",
        "t",
        "STATUS_TEXT[status]",
        "PHASES.get(s.get('phase') or '', STATUS_TEXT['pending'])",
        "vocab.metric_title(name, problem_type)",
        "LABEL_FORMATS[f]",
        "methods.get_method(m).label",
        "POOLING_TEXT[m]",
        "BATCH_MODES[m]",
        "name",
        "field_label(m.group(1))",
        "y_title",
        "right_title",
        "chart.y_title",  # RunChart's axis titles: N_() where the chart is made (ui.charts)
        "chart.right_title or ''",
        "FULL_STOP",
        "LIST_SEPARATOR",
        "v",  # Explore's views
        "SORT_NAMES[s]",
    }
    bad = [b for b in bad if b.split(": ", 1)[1] not in allowed]
    assert not bad, bad
