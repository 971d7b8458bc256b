"""The translation layer itself (zoo.i18n): language resolution, catalogue lookups, plurals."""
import pytest

from zoo import i18n
from zoo.i18n import _, ngettext


def test_english_is_the_default_and_the_key():
    assert i18n.language() == "en"
    assert _("Home") == "Home"
    assert _("a sentence nobody translated") == "a sentence nobody translated"


def test_using_korean_reads_the_po_catalogue():
    with i18n.using("ko"):
        assert _("Home") == "홈"
        assert _("a sentence nobody translated") == "a sentence nobody translated"
    assert _("Home") == "Home"


def test_plural_forms_follow_english_rules_and_korean_has_one():
    assert ngettext("{n} block", "{n} blocks", 1).format(n=1) == "1 block"
    assert ngettext("{n} block", "{n} blocks", 3).format(n=3) == "3 blocks"


def test_resolver_names_the_session_language_and_bad_values_fall_back():
    try:
        i18n.set_resolver(lambda: "ko")
        assert i18n.language() == "ko"
        i18n.set_resolver(lambda: "xx")
        assert i18n.language() == "en"
        i18n.set_resolver(lambda: 1 / 0)
        assert i18n.language() == "en"
        with i18n.using("ko"):
            i18n.set_resolver(lambda: "en")
            assert i18n.language() == "ko"  # an explicit block wins over the session
    finally:
        i18n.set_resolver(None)


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        with i18n.using("xx"):
            pass


def test_a_message_in_two_catalogue_files_has_one_translation():
    seen: dict = {}
    for path in i18n.po_files("ko"):
        for m in i18n.read(path):
            if m.id and m.string:
                key = tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id
                value = tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
                assert seen.setdefault(key, (value, path.name))[0] == value, (key, path.name, seen[key][1])
