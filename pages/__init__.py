"""The app's pages, registered by ``app.py`` through ``st.navigation``.

Page scripts live in sub-folders (``explore/``, ``understand/``, ``photo/``) and shared widget
code in ``ui/``: Streamlit's old multipage mode reads only the top level of ``pages/``, so with
nothing there every first visit, deep links included, runs through ``app.py``'s navigation.
"""
