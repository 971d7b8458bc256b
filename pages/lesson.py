"""Door for a first visit to /lesson on a fresh server: runs app.py (see pages/__init__.py)."""
from pages import enter

enter()
