"""The base of every error a user can cause (unknown model, bad image, missing weights, ...).

``str(error)`` is one sentence fit to show as it is: the pages put it in ``st.error``, the CLI
prints it and exits with status 2. Anything that is not a ``ZooError`` is a bug, with a traceback.
"""
from __future__ import annotations


class ZooError(Exception):
    """An error caused by what a user asked for; ``str()`` is one sentence for them."""

    def __str__(self) -> str:  # KeyError-based subclasses would otherwise quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class UnknownLayerError(ZooError, KeyError):
    """A layer name the model does not have (or one the asked-for analysis cannot use)."""
