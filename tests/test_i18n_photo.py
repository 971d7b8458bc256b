"""The photo pages (Predict, Inside the network), the shared image input and zoo's user messages in
Korean: through app.py with ``?lang=ko`` as a visitor opens them, compared with the same run in English
(the numbers must not change with the language), and the CLI staying English."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from zoo import i18n
from zoo.inference import weights as W
from zoo.inference.images import SAMPLES_DIR

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PREDICT = "pages/photo/predict.py"
INSIDE = "pages/photo/inside.py"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN = re.compile(r"[A-Za-z]")


def open_page(page: str, lang: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["lang"] = lang
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    """What a visitor reads: headings, markdown, captions (text and image), alerts and widget labels."""
    out = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
                                "success") for e in at.get(kind)]
    out += [i.caption for img in at.get("image") for i in img.proto.imgs if i.caption]
    for kind in ("selectbox", "multiselect", "toggle", "slider", "radio", "button_group", "button", "tabs"):
        out += [w.label for w in at.get(kind) if getattr(w, "label", "")]
    return out


# Not words to translate: markdown markup, code, names, units and numbers with their units.
NOT_WORDS = re.compile(r":[a-z-]+\[|:material/\w+:|`[^`]*`|'[^']*'|\*\*[a-z ]+\*\*|\b(?:[A-Za-z]*\d[\w.-]*|ms|px|MB|"
                       r"G?MACs|CPU|CUDA|GPU|ONNX Runtime|OpenVINO|PyTorch|ImageNet|Grad-CAM|Eigen-CAM|Score-CAM|"
                       r"fp32|bf16|float\d+|bicubic|bilinear|C × H × W|English|[xyr])\b")


def hangul_share(strings: list[str]) -> float:
    """Hangul among the letters (Latin + Hangul) of the words to translate: names (models from the catalogue,
    ImageNet classes, layers), units and markup are taken out first, as they stay Latin in Korean too."""
    from zoo import registry

    joined = NOT_WORDS.sub(" ", " ".join(strings))
    for name in sorted({e.display for e in registry.REGISTRY.values()}, key=len, reverse=True):
        joined = joined.replace(name, " ")
    h, latin = len(HANGUL.findall(joined)), len(LATIN.findall(joined))
    return h / max(h + latin, 1)


def numbers(strings: list[str]) -> list[str]:
    return sorted(re.findall(r"\d+(?:[.,]\d+)*", " ".join(strings)))


def test_predict_in_korean_on_a_sample_photo_has_the_english_numbers(offline):
    en = open_page(PREDICT, "en", pred_models="efficientnet_lite0")
    ko = open_page(PREDICT, "ko", pred_models="efficientnet_lite0")
    assert not ko.error
    assert ko.title[0].value == "예측"
    # The same prediction, probabilities and all: the language changes words, not results.
    top = lambda at: [(t["index"], t["label"], t["prob"]) for t in at.session_state["pred_results"][  # noqa: E731
        "efficientnet_lite0"]["top"]]
    assert top(ko) == top(en)
    assert any(m.value.startswith("1순위: :green[**tiger cat**]") for m in ko.markdown)
    captions = [c.value for c in ko.caption]
    assert any(c.startswith("전처리: 크기 조정 256 (쌍삼차 보간) -> 가운데 자르기 224 -> 평균/표준편차로 정규화") for c in captions)
    assert any(" ms (워밍업 후" in c and "224 px에서 " in c and "GMACs" in c for c in captions), captions
    assert ko.toggle(key="pred_wrong").label == "잘못된 전처리"
    assert ko.multiselect(key="pred_models").label == "모델"
    # Mostly Hangul: what stays Latin are names (EfficientNet-Lite0, tiger cat, ONNX Runtime) and units.
    assert hangul_share(texts(ko)) > 0.6 > hangul_share(texts(en))
    assert hangul_share(texts(en)) == 0
    # MACs and input size as in English (latency is measured per run: predictions are cached per language).
    pick = lambda at: re.findall(r"[\d.]+ GMACs|\d+ px", next(c.value for c in at.caption if "GMACs" in c.value))  # noqa: E731
    assert sorted(pick(ko)) == sorted(pick(en)) == ["0.39 GMACs", "224 px"]
    assert numbers([c.value for c in ko.caption if c.value.startswith("전처리: ")]) == numbers(
        [c.value for c in en.caption if c.value.startswith("Preprocessing: ")])


def test_predict_in_korean_on_an_uploaded_photo(offline):
    at = open_page(PREDICT, "ko", pred_models="efficientnet_lite0")
    at.session_state["pred_source"] = "Upload"  # the English label: the tab follows it into Korean
    at.run()
    assert not at.exception
    assert [t.label for t in at.tabs][:3] == ["예시 사진", "업로드", "카메라"]
    assert at.file_uploader[0].label == "이미지 업로드 (JPEG, PNG, WebP, GIF, BMP, 최대 10 MB)"
    at.file_uploader[0].upload("chelsea.png", (SAMPLES_DIR / "chelsea.png").read_bytes(), "image/png").run()
    assert not at.exception and not at.error
    assert at.session_state["pred_results"]["efficientnet_lite0"]["top"][0]["label"] in {"tabby", "tiger cat"}
    assert any(c.startswith("chelsea.png · 451 × 300 px") for c in texts(at))
    assert hangul_share(texts(at)) > 0.6


def test_a_hostile_upload_is_refused_in_korean(offline):
    at = open_page(PREDICT, "ko", pred_models="efficientnet_lite0")
    at.session_state["pred_source"] = "Upload"
    at.run()
    at.file_uploader[0].upload("cat.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "image/png").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["이 파일은 읽을 수 있는 이미지가 아닙니다(PDF 문서인 것 같아요)."]
    assert at.session_state["pred_results"] == {}


def test_inside_in_korean_grad_cam_and_occlusion_keep_their_numbers(offline):
    en = open_page(INSIDE, "en")
    ko = open_page(INSIDE, "ko")
    assert not ko.error
    assert ko.title[0].value == "네트워크 속 들여다보기"
    assert [t.label for t in ko.tabs][-4:] == ["Grad-CAM", "가림 실험", "특징 맵", "필터"]
    map_caption = next(c.value for c in ko.caption if c.value.startswith("이 맵은 "))
    assert "7 × 7(_bn1의 격자, 채널 1280개)" in map_caption
    top5 = lambda at, word: next(c.value for c in at.caption if c.value.startswith(word))  # noqa: E731
    assert numbers([top5(ko, "상위 5개: ")]) == numbers([top5(en, "Top-5: ")])
    assert any("_bn1에서 본 'tiger cat'의 Grad-CAM" == i.caption for img in ko.get("image") for i in img.proto.imgs)
    assert hangul_share(texts(ko)) > 0.6

    # A deep link written in English opens the same view in Korean (the URL keeps the English label).
    occ = open_page(INSIDE, "ko", in_view="Occlusion")
    assert not occ.error
    assert any(c.value.startswith("가장 큰 하락은 ") and "Grad-CAM과의 상관관계" in c.value for c in occ.caption)
    assert occ.query_params["in_view"] in ("Occlusion", ["Occlusion"])
    assert occ.slider(key="in_patch").label == "패치(px)"


def test_inside_filters_and_feature_maps_in_korean(offline):
    at = open_page(INSIDE, "ko", in_view="Filters")
    assert not at.exception and not at.error
    assert any("**3 × 3 × 3 필터 32개**" in m.value and "ImageNet으로 학습된 그대로" in m.value for m in at.markdown)
    at = open_page(INSIDE, "ko", in_view="Feature maps")
    assert not at.error
    assert [m.label for m in at.metric] == ["출력 모양 (C × H × W)", "수용 영역", "스트라이드 (간격)"]
    assert any(m.value.startswith("**채널 ") for m in at.markdown)


def test_an_open_tab_survives_a_language_switch(offline):
    at = open_page(INSIDE, "en", in_view="Feature maps")
    at.query_params["lang"] = "ko"
    at.run()
    assert not at.exception
    assert at.session_state["in_view"] == "특징 맵"
    assert at.query_params["in_view"] in ("Feature maps", ["Feature maps"])


def test_zoo_messages_follow_the_language_and_default_to_english():
    from zoo import budget
    from zoo.i18n import _
    from zoo.inference import view
    from zoo.inference.device import device_label
    from zoo.inference.images import ImageDecodeError, decode_image, sample_caption

    def refusal(data: bytes) -> str:
        with pytest.raises(ImageDecodeError) as e:
            decode_image(data)
        return str(e.value)

    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    assert refusal(heic) == "HEIC images are not supported; please upload a JPEG, PNG, WebP, GIF or BMP file instead."
    assert refusal(b"") == "The file is empty."
    with i18n.using("ko"):
        assert refusal(heic) == "HEIC 이미지는 지원하지 않습니다. 대신 JPEG, PNG, WebP, GIF 또는 BMP 파일을 업로드해 주세요."
        assert refusal(b"") == "빈 파일입니다."
        assert sample_caption("astronaut.jpg") == "우주비행사 Eileen Collins"  # the name stays
        assert device_label("cpu").startswith("CPU · 스레드 ")
        assert view.view("resnet50").stats().startswith("평균 (0.485, 0.456, 0.406), 표준편차 ")
        assert W.missing_message("resnet50").startswith("ResNet-50의 가중치(")
        with pytest.raises(budget.BudgetError) as e:
            budget.refuse_or_allow("VGG-16 테스트", 3 * 10**9, 10**9, [(_("with {method}").format(method="Eigen-CAM"),
                                                                        5 * 10**8)])
        assert str(e.value) == ("VGG-16 테스트에는 메모리가 약 3.00 GB 필요해서, 이 서버에서 작업 하나가 쓸 수 있는 "
                                "한도(1.00 GB)를 넘습니다. Eigen-CAM 방법으로는 500 MB만 필요해서 한도 안에 들어옵니다.")
    assert sample_caption("astronaut.jpg") == "Astronaut Eileen Collins"
    with pytest.raises(budget.BudgetError) as e:
        budget.refuse_or_allow("Grad-CAM of VGG-16 at 224 px", 3 * 10**9, 10**9, [("with Eigen-CAM", 5 * 10**8)])
    assert str(e.value) == ("Grad-CAM of VGG-16 at 224 px would need about 3.00 GB of memory, over the 1.00 GB one "
                            "action may use on this server; with Eigen-CAM it would need 500 MB, which fits.")


def test_the_cli_stays_english_even_after_a_korean_session_in_the_same_process(offline, capsys):
    from zoo.__main__ import main

    open_page(PREDICT, "ko", pred_models="efficientnet_lite0")  # installs the session resolver in this process
    assert i18n.language() == "en"  # outside a session: English
    capsys.readouterr()
    assert main(["predict", str(SAMPLES_DIR / "chelsea.png"), "--model", "efficientnet_lite0"]) == 0
    out = capsys.readouterr().out
    assert "EfficientNet-Lite0 on CPU · " in out and "resize 256 (bicubic) -> centre crop 224" in out
    assert not HANGUL.search(out)
    assert main(["predict", str(ROOT / "README.md"), "--model", "efficientnet_lite0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: This file is not an image we can read") and not HANGUL.search(err)


def _glyph(font, char: str) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(img).text((8, 8), char, font=font, fill=255)
    return img.tobytes()


def test_korean_text_drawn_on_the_server_uses_a_cjk_face():
    import warnings

    from zoo import fonts

    fonts.font_for.cache_clear()
    face = fonts.pil_font(32, "ko")
    assert face.getname()[0] in fonts.CJK_FAMILIES
    # Real glyphs: two Hangul syllables draw differently (a font without Hangul draws both as the same box).
    assert _glyph(face, "합") != _glyph(face, "곱") and any(_glyph(face, "합"))
    latin = fonts.pil_font(32, "en")
    assert latin.getname()[0] == fonts.DEFAULT_FAMILY
    assert _glyph(latin, "합") == _glyph(latin, "곱")  # the tofu the CJK face avoids
    with i18n.using("ko"):
        assert fonts.current_font() == fonts.font_for("ko")

    # matplotlib draws a Korean colour-bar label without a missing-glyph warning.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with matplotlib.rc_context({"font.family": fonts.matplotlib_family("ko")}):
            fig, ax = plt.subplots()
            ax.set_title("수용 영역 (px)")
            fig.canvas.draw()
        plt.close(fig)


def test_without_a_cjk_font_the_default_face_is_used_with_a_warning(monkeypatch, caplog):
    from zoo import fonts

    monkeypatch.setattr(fonts, "CJK_FAMILIES", ("No Such Font KR",))
    fonts.font_for.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="zoo.fonts"):
            assert fonts.font_for("ko").family == fonts.DEFAULT_FAMILY
        assert "fonts-noto-cjk" in caplog.text
    finally:
        fonts.font_for.cache_clear()
