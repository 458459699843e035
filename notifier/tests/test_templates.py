from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

import pytest

from notifier.templates import (
    TEMPLATES,
    Facts,
    TemplateError,
    clean_text,
    format_distance,
    format_kst,
    parse_instant,
    render,
    template_for,
)

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
    ("REJECTED", {"reason": "ADMISSION_LAPSED"}, "TSHOP_REJECTED"),
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


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("OUT_OF_STOCK", "TSHOP_SOLD_OUT"),
        (None, "TSHOP_SOLD_OUT"),  # rows from before reasons were recorded
        ("STOCK_UNAVAILABLE", "TSHOP_REJECTED"),
        ("ADMISSION_LAPSED", "TSHOP_REJECTED"),  # given up before any stock was taken
        ("SOME_FUTURE_REASON", "TSHOP_REJECTED"),
    ],
)
def test_only_running_out_of_stock_reads_sold_out(reason, code):
    assert template_for(facts("REJECTED", reason=reason)).code == code


# What a value from data may show: the test's own statement of the rule, not the module's.
ALLOWED_PUNCTUATION = set(" -'(),")
ALLOWED_CATEGORIES = {"Lu", "Ll", "Lt", "Lo", "Nd"}
UNSHOWN_LETTERS = set("\u318d\u119e\u1427\u18df\ua78f\u0887\u115f\u1160\u3164\uffa0")  # dot-shaped, blank
BOUNDS = {"고객명": 20, "상품명": 40, "대리점명": 30}
# A scheme, "www", an address, or word.tld with any of the dots that browsers take for one.
LINK = re.compile(r"https?|www|//|@|[\w-][.．。｡:／][^\W\d_]{2,}", re.IGNORECASE)

HOSTILE = [
    "https://evil.example/win",
    "evil.com 당첨",
    "www.evil.com",
    "WWW.EVIL.COM/당첨",
    "user@evil.com",
    "hthttptp://evil.example",  # a removal that would join another "http"
    "ｈｔｔｐｓ：／／ｅｖｉｌ．ｅｘａｍｐｌｅ／ｗｉｎ",  # full-width
    "evil。com", "evil｡com", "evil．com", "evil․com", "evil﹒com",  # ideographic, half/full-width, leader, small dots
    "evilᐧcom", "evilꞏcom", "evilㆍcom", "evil·com", "evil・com", "evilꓸcom",  # dot-shaped letters and middle dots
    "ⓔⓥⓘⓛ.ⓒⓞⓜ",
    "evil%2Ecom?a=1&b=2#x",
    "javascript:alert(1)",
    "김민수\x00\x07\x1b[31m\u200b\u202e\ufeff",  # control, zero-width and bidi characters
    "<a href=\"https://evil.example\">당첨</a>",
    "<script>alert('x')</script>",
    "김" * 500,
    "Galaxy " + "A" * 300,
]


def test_the_link_check_itself_finds_links():
    for link in ("https://evil.example/win", "evil.com", "evil。com", "evil．com", "user@evil.com", "WWW evil"):
        assert LINK.search(link), link


def allowed(value: str) -> bool:
    return all(
        c in ALLOWED_PUNCTUATION or (unicodedata.category(c) in ALLOWED_CATEGORIES and c not in UNSHOWN_LETTERS)
        for c in value
    )


def hostile_renders(value: str):
    for kind, overrides, _ in CASES:
        case = {**overrides, "product_name": f"{value} 512GB", "store_name": value}
        yield kind, overrides, render(facts(kind, **case), value)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_leave_no_link_and_only_allowed_characters(value):
    for kind, overrides, rendered in hostile_renders(value):
        shown = rendered.parameters
        for name, bound in BOUNDS.items():
            if name in shown:
                assert allowed(shown[name]) and 0 < len(shown[name]) <= bound, (name, shown[name])
                assert shown[name] == shown[name].strip() and "  " not in shown[name]
        for text in (rendered.text_ko, rendered.text_en, *shown.values()):
            assert not LINK.search(text), text
        # The texts hold the cleaned values and nothing else of the input: the cleaned values
        # filled in afresh give the very same message.
        case = {**overrides, "product_name": shown["상품명"], "store_name": shown.get("대리점명")}
        again = render(facts(kind, **case), shown["고객명"])
        assert (again.text_ko, again.text_en) == (rendered.text_ko, rendered.text_en)
        assert len(rendered.text_ko) <= 1000 and len(rendered.text_en) <= 1000


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("https://evil.example/win", "evilexamplewin"),
        ("evil.com 당첨", "evilcom 당첨"),
        ("ｗｗｗ．ｅｖｉｌ．ｃｏｍ", "evilcom"),
        ("hthttptp://x.y", "xy"),
        ("\n\t 김   민수\u3000\r\n", "김 민수"),
        ("O’Brien (Jean‑Luc)", "O'Brien (Jean-Luc)"),  # a phone keyboard's quote and hyphen
        ("김" * 25, "김" * 20),
    ],
)
def test_names_are_cleaned_to_what_may_be_shown(raw, shown):
    rendered = render(facts("ACCEPTED"), raw)
    assert rendered.parameters["고객명"] == shown
    assert f"{shown}님" in rendered.text_ko


@pytest.mark.parametrize("name", ["", "   ", "https://", "...:/@#?&=%", "\x00\x1b\u200b", "www", "🎉🎉", "\u3164\u3164"])
def test_a_name_with_nothing_left_reads_as_the_default(name):
    rendered = render(facts("ACCEPTED"), name)
    assert rendered.parameters["고객명"] == "고객"
    assert "고객님" in rendered.text_ko


def test_lengths_are_bounded_per_variable():
    rendered = render(facts("CONFIRMED", product_name="P" * 100, store_name="S" * 100), "N" * 100)
    assert rendered.parameters["고객명"] == "N" * 20
    assert rendered.parameters["상품명"] == "P" * 40
    assert rendered.parameters["대리점명"] == "S" * 30
    assert clean_text("ab " + "c" * 10, 3) == "ab"  # no trailing space where the cut falls


def test_a_product_name_with_nothing_left_is_not_sent():
    with pytest.raises(TemplateError, match="상품명"):
        render(facts("ACCEPTED", product_name="://..."))


DEMO_PRODUCTS = [
    "Galaxy S26 Ultra 512GB",
    "Galaxy Z Fold8 512GB",
    "Galaxy Z Flip8 256GB",
    "iPhone 18 Pro 256GB",
    "iPhone 18 Pro Max 512GB",
    "Galaxy A57 128GB",
]
DISTRICTS = "종로 중 용산 성동 광진 동대문 중랑 성북 강북 도봉 노원 은평 서대문 마포 양천 강서 구로 금천 영등포 동작 관악 서초 강남 송파 강동"
DEMO_STORES = [f"{d} 대리점" for d in DISTRICTS.split()] + [
    "강남역점", "홍대입구역점", "잠실역점", "명동점", "여의도점", "신촌점", "Tshop 온라인 중앙센터",
]
DEMO_CUSTOMERS = ["김민수", "이서연", "박지훈", "최유진", "Alex Kim"]


@pytest.mark.parametrize("product", DEMO_PRODUCTS)
def test_demo_products_come_through_unchanged(product):
    rendered = render(facts("ACCEPTED", product_name=product))
    assert rendered.parameters["상품명"] == product
    assert product in rendered.text_ko and product in rendered.text_en


@pytest.mark.parametrize("store", DEMO_STORES)
def test_demo_stores_come_through_unchanged(store):
    rendered = render(facts("CONFIRMED", store_name=store))
    assert rendered.parameters["대리점명"] == store
    assert store in rendered.text_ko and store in rendered.text_en


@pytest.mark.parametrize("name", DEMO_CUSTOMERS)
def test_demo_customers_come_through_unchanged(name):
    assert render(facts("ACCEPTED"), name).parameters["고객명"] == name


@pytest.mark.parametrize("reservation_id", ["https://evil.example", "7KQ2M9XW4ZRT.com", "ABC 123", "Ａ１", "A" * 33])
def test_a_reservation_id_that_is_not_letters_and_digits_is_refused(reservation_id):
    with pytest.raises(TemplateError, match="reservation id"):
        render(facts("ACCEPTED", reservation_id=reservation_id))


def test_a_distance_that_is_not_a_measurement_reads_unknown():
    assert [format_distance(km) for km in (float("nan"), float("inf"), -1.0, 0.04)] == [None, None, None, "0.0km"]
