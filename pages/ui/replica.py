"""Behind deploy/nginx.conf: tell a student whose replica went away why the page starts afresh.

nginx gives every browser a ``zoo_replica`` cookie, ``<mint time>-<request id>``, and hashes it onto
one replica, which holds that browser's sessions (state, uploads) in memory. When that replica dies
or restarts, the browser's websocket reconnects through nginx to a replica that has never served
this cookie: a fresh session, with the upload gone. Each replica remembers the cookies it has
served (bounded); a session whose cookie is older than a first page load and new to this replica
says so in one sentence. A reload on the same replica, or a first visit, shows nothing. Without
nginx in front there is no cookie and this does nothing.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

import streamlit as st

from zoo.i18n import _

COOKIE = "zoo_replica"
# A first visit's page load -> websocket -> first run takes far less than this (seconds). Operators
# may change it (ZOO_FIRST_LOAD_S); the replica e2e test sets it low so it need not wait a minute.
FIRST_LOAD_S = float(os.environ.get("ZOO_FIRST_LOAD_S", "60"))
REMEMBERED = 50_000  # cookies a replica remembers (~100 bytes each)
_FLAG = "zoo_replica_checked"


class SeenCookies:
    """A bounded, thread-safe set of the cookies this process has served (oldest forgotten first)."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        self.limit = limit
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Remember ``key``; True when it was new to this process."""
        with self._lock:
            new = key not in self._seen
            self._seen[key] = None
            self._seen.move_to_end(key)
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)
            return new


@st.cache_resource(show_spinner=False)
def _seen() -> SeenCookies:
    return SeenCookies()


def minted_at(cookie: str) -> float | None:
    """The cookie's mint time (nginx's ``$msec``), or None for a cookie nginx did not mint."""
    head = cookie.split("-", 1)[0]
    try:
        value = float(head)
    except ValueError:
        return None
    return value if value > 0 else None


def moved(cookie: str | None, seen: SeenCookies, now: float) -> bool:
    """Whether a session with this cookie comes from a replica that is gone (see the module doc)."""
    if not cookie:
        return False
    new_here = seen.add(cookie)
    minted = minted_at(cookie)
    return new_here and minted is not None and now - minted > FIRST_LOAD_S


SHOW_S = 120.0  # the sentence stays on the page this long (pages rerun themselves, e.g. to sync the URL)


def notice() -> None:
    """The sentence, on a session's runs for SHOW_S seconds, when it moved from a dead replica
    (decided once, on the session's first run)."""
    if _FLAG not in st.session_state:
        st.session_state[_FLAG] = None
        try:
            cookie = st.context.cookies.get(COOKIE)
        except Exception:  # no browser request behind this run (e.g. a test harness)
            cookie = None
        if moved(cookie, _seen(), time.time()):
            st.session_state[_FLAG] = time.monotonic()
    since = st.session_state[_FLAG]
    if since is not None and time.monotonic() - since < SHOW_S:
        st.warning(_("The server that held this session stopped, so the page reconnected to another one "
                     "and started afresh: anything you uploaded is gone, please upload it again."),
                   icon=":material/sync_problem:")
