"""CNN Zoo Explorer: `streamlit run app.py`. Navigation only; each page lives in pages/."""
import streamlit as st

from pages.ui import i18n as ui_i18n
from pages.ui import present, replica
from zoo import concurrency
from zoo.i18n import _

st.set_page_config(page_title="CNN Zoo Explorer", page_icon=":material/hub:", layout="wide")


@st.cache_resource(show_spinner=False)
def start_up() -> tuple[int, int]:
    """Once per server process: inference slots x torch threads ~ CPU cores (zoo.concurrency), so that
    twenty sessions pressing "predict" together queue for a slot instead of oversubscribing the cores."""
    return concurrency.configure()


start_up()
ui_i18n.setup()

PAGES = {
    _("Explore"): [
        st.Page("pages/explore/home.py", title=_("Home"), icon=":material/home:", url_path="home", default=True),
        st.Page("pages/explore/model.py", title=_("Model"), icon=":material/table_chart:", url_path="model"),
        st.Page("pages/explore/compare.py", title=_("Compare"), icon=":material/balance:", url_path="compare"),
    ],
    _("Why it works"): [
        st.Page("pages/understand/labs.py", title=_("Labs"), icon=":material/science:", url_path="labs"),
        st.Page("pages/understand/receptive_fields.py", title=_("Receptive fields"), icon=":material/center_focus_strong:",
                url_path="receptive-fields"),
    ],
    _("On your photo"): [
        st.Page("pages/photo/predict.py", title=_("Predict"), icon=":material/photo_camera:", url_path="predict"),
        st.Page("pages/photo/inside.py", title=_("Inside the network"), icon=":material/visibility:", url_path="inside"),
    ],
    _("Classroom"): [
        st.Page("pages/classroom/lesson.py", title=_("Lesson"), icon=":material/school:", url_path="lesson"),
        st.Page("pages/classroom/quiz.py", title=_("Quiz"), icon=":material/quiz:", url_path="quiz"),
    ],
}

page = st.navigation(PAGES, position=present.nav_position())
ui_i18n.switch()
replica.notice()
present.setup()
page.run()
