"""The dashboard's one entry (``streamlit run Home.py``): the page registry, the frame, the page.

Every page is registered in ``ui.nav``; ``ui.frame`` draws what all pages share (the warnings of a
link, the sidebar) around the page's own script. The session's language is settled first: the
page titles of the navigation are in it.
"""

from __future__ import annotations

import streamlit as st

from ui import frame, i18n, nav, state

st.set_page_config(page_title="Venus Fine-tune", page_icon=":material/biotech:", layout="wide")
i18n.init(lambda: state.read_preference(frame.LANGUAGE_PREFERENCE))
page = nav.navigation()
frame.before()
page.run()
frame.after(nav.key_of(page))
