"""Dashboard helpers shared by ``Home.py`` and ``pages/``: session state, bound widgets, charts.

Everything here runs in Streamlit script threads only; the trainer thread never calls it.
"""
