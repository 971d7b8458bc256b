"""CNN Zoo Explorer: `streamlit run app.py`. Navigation only; each page lives in pages/."""
import streamlit as st

st.set_page_config(page_title="CNN Zoo Explorer", page_icon="🧠", layout="wide")

PAGES = {
    "Explore": [
        st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
        st.Page("pages/model.py", title="Model", icon="🧱", url_path="model"),
        st.Page("pages/compare.py", title="Compare", icon="⚖️", url_path="compare"),
    ],
}

st.navigation(PAGES).run()
