"""The dashboard's one entry (``streamlit run Home.py``): the page registry, the frame, the page.

Every page is registered in ``ui.nav``; ``ui.frame`` draws what all pages share (the warnings of a
link, the sidebar) around the page's own script.
"""

from __future__ import annotations

import streamlit as st

from ui import frame, nav

st.set_page_config(page_title="Venus Fine-tune", page_icon=":material/biotech:", layout="wide")
page = nav.navigation()
frame.before()
page.run()
frame.after(nav.key_of(page))
