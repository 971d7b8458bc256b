"""CNN Zoo Explorer's engine: catalogue, structural analysis and inference, with no UI code.

Importable from notebooks, the CLI (``python -m zoo``), the Streamlit pages and tests alike.
"""
