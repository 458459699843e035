"""The customer messages: one Kakao AlimTalk template per case, and how each is filled in.

An AlimTalk message must match a template registered with Kakao (code, content with `#{변수}`
placeholders), so the content here is what would be registered. The English text is the
fallback sent as an LMS when KakaoTalk cannot deliver. Kakao refuses a message that does not fill
every variable of its registered template, so an optional fact that is unknown (a reservation
without a measured distance) is sent as `-` rather than left out.

A message goes out under Tshop's KakaoTalk channel, so a value taken from data (the customer's
name, the product's, the store's) is cleaned before it fills a variable: letters, digits, spaces
and `- ' ( ) ,` only, nothing that reads as a link, and a bounded length (`clean_text`). The other
variables (reservation id, distance, dates) are made by code and checked.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

# Korea has kept UTC+9 without daylight saving since 1988: no tzdata needed.
KST = timezone(timedelta(hours=9), "KST")
CENTRAL_STORE_ID = "central-online"
CENTRAL_STORE_NAME = "Tshop 온라인 중앙센터"
DEFAULT_CUSTOMER_NAME = "고객"
# What an unknown optional fact reads as: the variable is still sent, as the registered template requires.
UNKNOWN = "-"
KINDS = ("ACCEPTED", "REJECTED", "CONFIRMED", "REASSIGNED", "REMINDER", "COMPLETED", "CANCELLED", "EXPIRED")

_PLACEHOLDER = re.compile(r"#\{([^}]*)\}")

# A Korean name is 2-5 syllables and 20 still fits a long Western one; catalogue product names run
# to 23 characters and store names to 16: room to spare, and every message stays far below
# AlimTalk's 1,000 characters.
NAME_MAX = 20
PRODUCT_MAX = 40
STORE_MAX = 30

# Punctuation a name may need and a link cannot be made of (no . : / @ # ? & = %). The middle dot
# is left out too: between two words it reads as a domain's dot ("evil·com").
_PUNCTUATION = frozenset("-'(),")
# Phone keyboards type curly quotes and dashes for the ASCII ones kept above.
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u2010": "-", "\u2011": "-", "\u2013": "-", "\u2014": "-"})
# Modifier letters (Lm) are not kept: several are drawn as a dot or a colon (ꓸ ː).
_LETTERS = frozenset({"Lu", "Ll", "Lt", "Lo"})
# Letters drawn as a dot (ㆍ, NFKC ᆞ, is Korean keyboards' middle dot), and the Hangul fillers,
# not drawn at all (a name of them would read as blank).
_UNSHOWN_LETTERS = frozenset("\u318d\u119e\u1427\u18df\ua78f\u0887" "\u115f\u1160\u3164\uffa0")
_LINK_WORDS = re.compile(r"https?|www", re.IGNORECASE)
_RESERVATION_ID = re.compile(r"[0-9A-Za-z]{1,32}")


class TemplateError(ValueError):
    """A notification that cannot be filled in (an unknown kind, a missing product): never retried."""


@dataclass(frozen=True)
class Facts:
    """What a message says, from the outbox row's payload (or the read model for older rows)."""

    reservation_id: str
    kind: str
    product_name: str | None = None
    store_name: str | None = None
    distance_km: float | None = None
    hold_until: datetime | None = None
    fallback: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Template:
    code: str
    ko: tuple[str, ...]
    en: tuple[str, ...]
    # Without these the message makes no sense (it is not sent); any other unknown fact reads `-`.
    required: frozenset[str] = field(default=frozenset({"고객명", "상품명", "예약번호"}))


@dataclass(frozen=True)
class Rendered:
    template_code: str
    parameters: dict[str, str]  # AlimTalk templateParameter: the variables the content uses
    text_ko: str
    text_en: str


_ITEM = ("▶ 상품명: #{상품명}", "▶ 예약번호: #{예약번호}")
_STORE = ("▶ 대리점: #{대리점명}", "▶ 거리: #{거리}", "▶ 수령기한: #{수령기한}")
_EN_STORE = ("Store: #{대리점명}", "Distance: #{거리}", "Collect by: #{수령기한} (KST)")
_VISIT = "수령기한까지 신분증을 지참하고 대리점을 방문해 주세요."

TEMPLATES: dict[str, Template] = {
    t.code: t
    for t in (
        Template(
            "TSHOP_ACCEPTED",
            ("[Tshop] 예약 접수 안내", "", "#{고객명}님, 사전예약이 접수되었습니다.", "", *_ITEM, "",
             "수령하실 대리점이 배정되면 다시 알려 드리겠습니다."),
            ("[Tshop] Your reservation #{예약번호} for #{상품명} is accepted.",
             "We will tell you which store takes it."),
        ),
        Template(
            "TSHOP_CONFIRMED",
            ("[Tshop] 예약접수완료", "", "#{고객명}님, 예약하신 상품이 대리점에 접수되었습니다.", "", *_ITEM, *_STORE, "", _VISIT),
            ("[Tshop] Reservation #{예약번호} (#{상품명}) is confirmed at a store.", *_EN_STORE),
        ),
        Template(
            "TSHOP_DELIVERY",
            ("[Tshop] 예약확정 (택배 발송)", "", "#{고객명}님, 예약이 확정되었습니다.",
             "기한 내에 가까운 대리점을 배정하지 못해 중앙센터에서 택배로 보내 드립니다.", "", *_ITEM,
             "▶ 발송처: #{대리점명}"),
            ("[Tshop] Reservation #{예약번호} (#{상품명}) is confirmed.",
             "No nearby store could take it in time, so our central store will ship it to you.",
             "Shipped by: #{대리점명}"),
        ),
        Template(
            "TSHOP_REASSIGNED",
            ("[Tshop] 수령 대리점 배정 안내", "", "#{고객명}님, 택배 대신 가까운 대리점에서 수령하실 수 있게 되었습니다.", "",
             *_ITEM, *_STORE, "", _VISIT),
            ("[Tshop] Good news: reservation #{예약번호} (#{상품명}) can now be collected at a store instead of delivered.",
             *_EN_STORE),
        ),
        Template(
            "TSHOP_REMINDER",
            ("[Tshop] 수령기한 안내", "", "#{고객명}님, 예약하신 상품의 보관 기한이 곧 끝납니다.", "", *_ITEM,
             "▶ 대리점: #{대리점명}", "▶ 보관기한: #{수령기한}", "", "기한이 지나면 예약이 만료되니 기한 내에 방문해 주세요."),
            ("[Tshop] Reminder: reservation #{예약번호} (#{상품명}) is waiting for you.",
             "Store: #{대리점명}", "Held until: #{수령기한} (KST)"),
        ),
        Template(
            "TSHOP_COMPLETED",
            ("[Tshop] 개통완료", "", "#{고객명}님, 예약하신 상품의 개통이 완료되었습니다.", "", *_ITEM, "",
             "Tshop을 이용해 주셔서 감사합니다."),
            ("[Tshop] Your #{상품명} (reservation #{예약번호}) is activated. Thank you for choosing Tshop.",),
        ),
        Template(
            "TSHOP_CANCELLED",
            ("[Tshop] 예약취소완료", "", "#{고객명}님, 예약이 취소되었습니다.", "", *_ITEM, "",
             "예약으로 확보해 둔 재고는 반환되었습니다."),
            ("[Tshop] Reservation #{예약번호} (#{상품명}) is cancelled; the unit held for you is released.",),
        ),
        Template(
            "TSHOP_EXPIRED",
            ("[Tshop] 예약만료 안내", "", "#{고객명}님, 보관 기한 내에 수령하지 않으셔서 예약이 만료되었습니다.", "", *_ITEM,
             "▶ 보관기한: #{수령기한}", "", "다시 원하시면 새로 예약해 주세요."),
            ("[Tshop] Reservation #{예약번호} (#{상품명}) expired: it was not collected in time.",
             "Held until: #{수령기한} (KST)"),
        ),
        Template(
            "TSHOP_SOLD_OUT",
            ("[Tshop] 예약불가 안내 (품절)", "", "#{고객명}님, 죄송합니다. 재고가 모두 소진되어 예약을 접수하지 못했습니다.", "",
             *_ITEM),
            ("[Tshop] Sorry, #{상품명} is sold out; reservation #{예약번호} could not be accepted.",),
        ),
        Template(
            "TSHOP_REJECTED",
            ("[Tshop] 예약 미완료 안내", "", "#{고객명}님, 죄송합니다. 일시적인 오류로 예약을 완료하지 못했습니다.", "", *_ITEM, "",
             "예약된 재고는 없으니 잠시 후 다시 시도해 주세요."),
            ("[Tshop] Sorry, reservation #{예약번호} for #{상품명} could not be completed because of a temporary fault.",
             "Nothing is reserved; please try again."),
        ),
    )
}

_BY_KIND = {
    "ACCEPTED": "TSHOP_ACCEPTED",
    "REASSIGNED": "TSHOP_REASSIGNED",
    "REMINDER": "TSHOP_REMINDER",
    "COMPLETED": "TSHOP_COMPLETED",
    "CANCELLED": "TSHOP_CANCELLED",
    "EXPIRED": "TSHOP_EXPIRED",
}


def template_for(facts: Facts) -> Template:
    if facts.kind == "CONFIRMED":
        return TEMPLATES["TSHOP_DELIVERY" if facts.fallback else "TSHOP_CONFIRMED"]
    if facts.kind == "REJECTED":
        # Only a stock decision that found none left is "sold out" (older rows carry no reason);
        # any other refusal took nothing, so the customer may try again.
        sold_out = facts.reason in (None, "", "OUT_OF_STOCK")
        return TEMPLATES["TSHOP_SOLD_OUT" if sold_out else "TSHOP_REJECTED"]
    code = _BY_KIND.get(facts.kind)
    if code is None:
        raise TemplateError(f"no template for notification kind {facts.kind!r}")
    return TEMPLATES[code]


def render(facts: Facts, customer_name: str | None = None) -> Rendered:
    template = template_for(facts)
    values = _variables(facts, customer_name)
    missing = sorted(name for name in template.required if not values.get(name))
    if missing:
        raise TemplateError(f"{template.code}: missing {', '.join(missing)}")
    ko, used = _fill(template.ko, values)
    en, _ = _fill(template.en, values)
    return Rendered(template.code, {name: values[name] or UNKNOWN for name in used}, ko, en)


def _variables(facts: Facts, customer_name: str | None) -> dict[str, str | None]:
    store = clean_text(facts.store_name, STORE_MAX) or (CENTRAL_STORE_NAME if facts.fallback else None)
    return {
        "고객명": clean_text(customer_name, NAME_MAX) or DEFAULT_CUSTOMER_NAME,
        "상품명": clean_text(facts.product_name, PRODUCT_MAX) or None,
        "예약번호": _checked_id(facts.reservation_id),
        "대리점명": store,
        "거리": format_distance(facts.distance_km),
        "수령기한": format_kst(facts.hold_until),
    }


def clean_text(value: object, limit: int) -> str:
    """A value from data as a message may show it: letters, digits, single spaces and `- ' ( ) ,`,
    no "http" or "www", at most `limit` characters; "" when nothing is left."""
    if value is None:
        return ""
    # NFKC first: full-width and other compatibility forms (ｈｔｔｐ ． ／ ：) become the ASCII
    # characters the filter drops.
    text = unicodedata.normalize("NFKC", str(value)).translate(_FOLD)
    text = "".join(map(_kept, text))
    while _LINK_WORDS.search(text):  # again: a removal can join the halves of another ("hthttptp")
        text = _LINK_WORDS.sub("", text)
    return " ".join(text.split())[:limit].rstrip()


def _kept(char: str) -> str:
    if char.isspace():
        return " "
    category = unicodedata.category(char)
    if char in _PUNCTUATION or category == "Nd" or (category in _LETTERS and char not in _UNSHOWN_LETTERS):
        return char
    return ""


def _checked_id(reservation_id: str | None) -> str | None:
    if reservation_id and not (isinstance(reservation_id, str) and _RESERVATION_ID.fullmatch(reservation_id)):
        raise TemplateError("the reservation id is not 1-32 letters and digits")
    return reservation_id


def _fill(lines: tuple[str, ...], values: dict[str, str | None]) -> tuple[str, list[str]]:
    kept: list[str] = []
    used: list[str] = []
    for line in lines:
        names = _PLACEHOLDER.findall(line)
        unknown = [name for name in names if name not in values]
        if unknown:
            raise TemplateError(f"unknown template variable {unknown[0]!r}")
        kept.append(_PLACEHOLDER.sub(lambda m: values[m.group(1)] or UNKNOWN, line))
        used.extend(name for name in names if name not in used)
    text = "\n".join(kept)
    if "#{" in text:
        raise TemplateError("a placeholder was left unfilled")
    return text, used


def format_distance(km: float | None) -> str | None:
    # Not finite or negative is a broken measurement, not a distance to show.
    return None if km is None or not math.isfinite(km) or km < 0 else f"{km:.1f}km"


def format_kst(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # the database's timestamptz always has one; ISO strings without are UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M")


def parse_instant(value: object) -> datetime | None:
    """An ISO-8601 string as the TypeScript side writes it (`…T09:00:00.000Z`), or a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise TemplateError(f"holdUntil is not an ISO-8601 time: {value!r}") from error
