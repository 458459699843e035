from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from notifier.templates import TEMPLATES, Facts, TemplateError, format_kst, parse_instant, render, template_for

HOLD = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
STORE_KINDS = {"TSHOP_CONFIRMED", "TSHOP_REASSIGNED", "TSHOP_REMINDER"}
WITH_DISTANCE = {"TSHOP_CONFIRMED", "TSHOP_REASSIGNED"}
WITH_HOLD = {"TSHOP_CONFIRMED", "TSHOP_REASSIGNED", "TSHOP_REMINDER", "TSHOP_EXPIRED"}

CASES = [
    ("ACCEPTED", {}, "TSHOP_ACCEPTED"),
    ("CONFIRMED", {"fallback": False}, "TSHOP_CONFIRMED"),
    ("CONFIRMED", {"fallback": True, "store_name": "Tshop 온라인 중앙센터", "distance_km": None}, "TSHOP_DELIVERY"),
    ("REASSIGNED", {}, "TSHOP_REASSIGNED"),
    ("REMINDER", {}, "TSHOP_REMINDER"),
    ("COMPLETED", {}, "TSHOP_COMPLETED"),
    ("CANCELLED", {}, "TSHOP_CANCELLED"),
    ("EXPIRED", {}, "TSHOP_EXPIRED"),
    ("REJECTED", {"reason": "OUT_OF_STOCK"}, "TSHOP_SOLD_OUT"),
    ("REJECTED", {"reason": None}, "TSHOP_SOLD_OUT"),
    ("REJECTED", {"reason": "STOCK_UNAVAILABLE"}, "TSHOP_REJECTED"),
]


def facts(kind: str, **overrides) -> Facts:
    base = dict(
        reservation_id="7KQ2M9XW4ZRT",
        kind=kind,
        product_name="Galaxy S26 Ultra 512GB",
        store_name="강남역점",
        distance_km=1.23,
        hold_until=HOLD,
    )
    base.update(overrides)
    return Facts(**base)


@pytest.mark.parametrize(("kind", "overrides", "code"), CASES)
def test_every_case_renders_its_template_with_the_facts(kind, overrides, code):
    rendered = render(facts(kind, **overrides), "김민수")

    assert rendered.template_code == code
    for text in (rendered.text_ko, rendered.text_en):
        assert text.startswith("[Tshop]")
        assert "#{" not in text and "None" not in text
        assert "Galaxy S26 Ultra 512GB" in text
        assert "7KQ2M9XW4ZRT" in text
    assert "김민수님" in rendered.text_ko
    assert re.search(r"[가-힣]", rendered.text_ko) and not re.search(r"[가-힣]", rendered.text_en.replace(
        "Tshop 온라인 중앙센터", "").replace("강남역점", ""))
    if code in STORE_KINDS:
        assert "강남역점" in rendered.text_ko and "강남역점" in rendered.text_en
    if code in WITH_DISTANCE:
        assert "1.2km" in rendered.text_ko and "1.2km" in rendered.text_en
        assert rendered.parameters["거리"] == "1.2km"
    if code in WITH_HOLD:
        assert "2026-12-03 18:00" in rendered.text_ko and "2026-12-03 18:00" in rendered.text_en
    if code == "TSHOP_DELIVERY":
        assert "택배" in rendered.text_ko and "ship" in rendered.text_en
        assert "Tshop 온라인 중앙센터" in rendered.text_ko
    # The template parameters are exactly the variables of the content sent to Kakao.
    assert set(rendered.parameters) == set(re.findall(r"#\{([^}]*)\}", "\n".join(TEMPLATES[code].ko)))
    assert rendered.parameters["고객명"] == "김민수"


def test_every_template_is_reachable_and_korean_headed():
    used = {code for _, _, code in CASES}
    assert used == set(TEMPLATES)
    for template in TEMPLATES.values():
        assert template.ko[0].startswith("[Tshop]") and template.en[0].startswith("[Tshop]")


def test_missing_optional_facts_still_fill_every_variable_of_the_template():
    rendered = render(facts("CONFIRMED", distance_km=None), None)

    # Kakao refuses a message that leaves a registered variable out: it reads "-".
    assert "▶ 거리: -" in rendered.text_ko and "km" not in rendered.text_ko
    assert "Distance: -" in rendered.text_en
    assert rendered.parameters["거리"] == "-"
    assert "고객님" in rendered.text_ko  # no name on file
    assert "#{" not in rendered.text_ko + rendered.text_en

    no_store = render(facts("REMINDER", store_name=None, hold_until=None))
    assert "▶ 대리점: -" in no_store.text_ko and "▶ 보관기한: -" in no_store.text_ko
    assert set(no_store.parameters) == {"고객명", "상품명", "예약번호", "대리점명", "수령기한"}
    assert "#{" not in no_store.text_ko + no_store.text_en


def test_central_delivery_names_the_central_store_when_the_facts_do_not():
    rendered = render(facts("CONFIRMED", fallback=True, store_name=None, distance_km=None))
    assert rendered.template_code == "TSHOP_DELIVERY"
    assert "Tshop 온라인 중앙센터" in rendered.text_ko


def test_korea_time_is_utc_plus_nine_without_tzdata():
    assert format_kst(parse_instant("2026-12-03T09:00:00.000Z")) == "2026-12-03 18:00"
    assert format_kst(parse_instant("2026-12-03T20:30:00Z")) == "2026-12-04 05:30"  # the next day in Seoul
    assert format_kst(parse_instant("2026-07-01T00:00:00+00:00")) == "2026-07-01 09:00"  # no summer time


def test_what_cannot_be_rendered_says_why():
    with pytest.raises(TemplateError, match="no template"):
        template_for(facts("SHIPPED"))
    with pytest.raises(TemplateError, match="상품명"):
        render(facts("ACCEPTED", product_name=None))
    with pytest.raises(TemplateError, match="ISO-8601"):
        parse_instant("next tuesday")
