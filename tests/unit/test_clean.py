import pandas as pd
import pytest

from interestlens.tools.clean import (
    CleanResult,
    clean_events,
    detect_language,
    normalize_text,
    scrub_pii,
    strip_html,
)
from interestlens.tools.errors import ConfigError
from interestlens.tools.records import (
    EVENT_COLUMNS,
    EVENT_ID,
    ITEM_ID,
    ITEM_TEXT,
    LANGUAGE,
    SOURCE,
    SOURCE_ROW,
    TEXT,
    USER,
)

LONG_ZH = ("这款手冲壶的出水非常稳定，壶嘴细长好控制，做工扎实，"
           "每天早上用它冲一杯咖啡心情都很好，推荐给喜欢咖啡的朋友")
LONG_EN = ("The autofocus on this mirrorless camera is fast and reliable even in low light, "
           "and the battery easily lasts a full day of street photography.")


def make_events(texts, users=None, items=None, item_texts=None) -> pd.DataFrame:
    n = len(texts)
    return pd.DataFrame({
        EVENT_ID: [f"e{i}" for i in range(n)],
        SOURCE: "reviews.csv",
        SOURCE_ROW: list(range(10, 10 + n)),
        USER: users if users is not None else [f"u{i}" for i in range(n)],
        "timestamp": pd.Timestamp("2026-01-01", tz="UTC"),
        "event_type": "review",
        TEXT: texts,
        ITEM_ID: items if items is not None else ["item-1"] * n,
        ITEM_TEXT: item_texts if item_texts is not None else ["Hario V60"] * n,
    }, columns=list(EVENT_COLUMNS))


def reasons_by_row(result: CleanResult) -> dict:
    return {row.row: row.reason for row in result.quarantine}


def cn_id(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


# ---- strip_html / normalize_text ---------------------------------------------------------------
@pytest.mark.parametrize(("html", "expected"), [
    ("<p>Great &amp; cheap</p>", "Great & cheap"),
    ("<div>好评<br/>物流快</div>", "好评\n物流快"),
    ("<p>one</p><script>alert('x')</script><style>p {color: red}</style><p>two</p>", "one\ntwo"),
    ("line&#xA;break &lt;3 &quot;ok&quot;", "line\nbreak <3 \"ok\""),
    ("<!-- hidden --><b>bold</b> <i>text</i>", "bold text"),
])
def test_strip_html_removes_markup_and_unescapes_entities(html, expected):
    assert normalize_text(strip_html(html)) == expected


def test_strip_html_keeps_angle_bracket_titles_and_plain_text():
    assert strip_html("看过<穿PRADA的恶魔>后 R&D 5 < 6") == "看过<穿PRADA的恶魔>后 R&D 5 < 6"
    assert strip_html("<Harry Potter> is <i>great</i>") == "<Harry Potter> is great"


def test_normalize_text_folds_width_and_collapses_whitespace():
    assert normalize_text("\ufeff  ＡＢＣ１２３  a\u3000b \r\n\n  c  ") == "ABC123 a b\nc"


# ---- scrub_pii ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("mail me: jane.doe+shop@example.co.uk!", "mail me: [EMAIL]!"),
    ("我的邮箱是abc_1@qq.com谢谢", "我的邮箱是[EMAIL]谢谢"),
    ("手机13812345678", "手机[PHONE]"),
    ("电话 +86 138-1234-5678 找我", "电话 [PHONE] 找我"),
    ("座机 010-12345678 或 (0755)1234567", "座机 [PHONE] 或 [PHONE]"),
    ("call +44 20 7946 0958 today", "call [PHONE] today"),
    ("call (555) 123-4567 or 555-123-4567", "call [PHONE] or [PHONE]"),
    ("card 4111 1111 1111 1111 ok", "card [CARD] ok"),
    ("amex 378282246310005", "amex [CARD]"),
    ("身份证 11010519491231002X", "身份证 [ID]"),
    ("id 11010519491231002x.", "id [ID]."),
])
def test_scrub_pii_replaces_each_kind(text, expected):
    assert scrub_pii(text) == expected


@pytest.mark.parametrize("text", [
    "价格 ¥1299.00，2023-05-01 发货，2023年买的",
    "RTX 4090, iPhone 15 Pro, SN: A1B2-C3D4, 3.5mm jack, 10:30 pm",
    "ISBN 978-7-111-12345-6, 1,299 元, 0.75 kg, 192.168.1.1",
    "order 202305011234567890 and 4111111111111112",  # 18-digit order no., card failing Luhn
    "years 1999-2003, rooms 1203-1205, 100-200 pieces, 12345678",
])
def test_scrub_pii_leaves_ordinary_numbers_alone(text):
    assert scrub_pii(text) == text


def test_scrub_pii_checks_the_id_checksum_and_date():
    valid = cn_id("44030819900307123")
    wrong_check = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    bad_date = cn_id("44030819900230123")  # checksum right, 30 February
    assert scrub_pii(f"号码 {valid}") == "号码 [ID]"
    assert scrub_pii(f"号码 {wrong_check}") == f"号码 {wrong_check}"
    assert scrub_pii(f"号码 {bad_date}") == f"号码 {bad_date}"


# ---- detect_language ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "language"), [
    ("这个磨豆机研磨很均匀", "zh"),
    ("我喜欢用 Python 写代码", "zh"),
    ("Great lens, sharp and light", "en"),
    ("I love the coffee at 星巴克 every morning", "en"),
    ("日本語のテキストです", "other"),
    ("Привет мир", "other"),
    ("12345 !!!", "other"),
    ("好评 [EMAIL] [PHONE]", "zh"),
])
def test_detect_language(text, language):
    assert detect_language(text) == language


# ---- clean_events: noise -----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty after cleaning"),
    ("<p>  </p>", "empty after cleaning"),
    (None, "empty after cleaning"),
    ("好", "too short"),
    ("12345 678 !!", "no words (only symbols/digits)"),
    ("哈哈哈哈哈哈哈哈", "repeated characters"),
    ("!!!!!!!", "repeated characters"),
    ("aaaaaaa", "repeated characters"),
    ("很好很好很好很好！", "repeated characters"),
    ("https://spam.example.com/deal?id=42", "only a link"),
    ("www.example.com !!", "only a link"),
])
def test_noise_rows_are_quarantined_with_reason_and_row(text, reason):
    result = clean_events(make_events(["这个滤杯很好用。出水均匀", text]))
    assert [(q.source, q.row, q.reason) for q in result.quarantine] == [("reviews.csv", 11, reason)]
    assert result.n_noise == 1
    assert result.events[TEXT].tolist() == ["这个滤杯很好用。出水均匀"]


def test_text_with_a_link_and_words_is_kept():
    result = clean_events(make_events(["see https://example.com for the review, great lens"]))
    assert len(result.events) == 1


def test_min_chars_is_honoured():
    result = clean_events(make_events(["好评", "ok", "不错哦"]), min_chars=3)
    assert sorted(reasons_by_row(result)) == [10, 11]


# ---- clean_events: duplicates ------------------------------------------------------------------
def test_exact_duplicates_after_normalisation_keep_the_first():
    texts = ["Great lens, very sharp!", "great   LENS very sharp", "Great lens, very sharp!!"]
    result = clean_events(make_events(texts, users=["u1"] * 3))
    assert result.events[EVENT_ID].tolist() == ["e0"]
    assert reasons_by_row(result) == {11: "duplicate of event e0", 12: "duplicate of event e0"}
    assert result.n_exact_duplicates == 2


def test_same_text_by_two_users_is_kept_in_user_mode_and_dropped_in_document_mode():
    events = make_events(["好评，物流很快", "好评，物流很快"], users=["alice", "bob"])
    assert len(clean_events(events).events) == 2
    result = clean_events(events, document_mode=True)
    assert reasons_by_row(result) == {11: "duplicate of event e0"}


def test_same_text_on_other_items_is_not_a_duplicate_in_user_mode():
    events = make_events(["好评，物流很快"] * 2, users=["alice"] * 2, items=["a", "b"])
    assert len(clean_events(events).events) == 2


@pytest.mark.parametrize("long_text", [LONG_ZH, LONG_EN])
def test_near_duplicates_are_found_within_scope(long_text):
    near = long_text[:-1] + "呀" + long_text[-1]
    other = LONG_EN if long_text == LONG_ZH else LONG_ZH
    same_user = make_events([long_text, other, near], users=["u1"] * 3)
    result = clean_events(same_user)
    assert reasons_by_row(result) == {12: "near-duplicate of event e0"}
    assert result.n_near_duplicates == 1 and result.n_exact_duplicates == 0
    two_users = make_events([long_text, other, near], users=["u1", "u1", "u2"])
    assert len(clean_events(two_users).events) == 3
    assert reasons_by_row(clean_events(two_users, document_mode=True)) == {
        12: "near-duplicate of event e0"
    }


def test_near_duplicate_threshold_and_short_texts():
    edited = LONG_EN.replace("fast and reliable", "quick and dependable")
    events = make_events([LONG_EN, edited, "Nice lens, sharp", "Nice lens, sharp!?"])
    assert len(clean_events(events, document_mode=True).events) == 3  # the short pair is exact
    assert len(clean_events(events, document_mode=True, near_duplicate_threshold=0.6).events) == 2
    short = make_events(["Nice lens, sharp.", "Nice lens, sharpe"])
    assert len(clean_events(short, document_mode=True).events) == 2


def test_duplicates_of_quarantined_noise_are_not_counted_twice():
    result = clean_events(make_events(["哈哈哈哈哈哈", "哈哈哈哈哈哈"], users=["u1"] * 2))
    assert result.n_noise == 2 and result.n_exact_duplicates == 0


def test_bad_threshold_raises_config_error():
    with pytest.raises(ConfigError, match="near_duplicate_threshold"):
        clean_events(make_events(["ok then"]), near_duplicate_threshold=1.5)


# ---- clean_events: outputs ---------------------------------------------------------------------
def test_clean_events_cleans_both_text_columns_and_adds_language():
    events = make_events(
        ["<p>Mail jane@example.com &amp; call 13812345678</p>", "这个登山杖很轻。抓地力不错"],
        item_texts=["<b>Hario</b> V60 &amp; filters", None],
    )
    result = clean_events(events)
    assert result.events[TEXT].tolist() == [
        "Mail [EMAIL] & call [PHONE]", "这个登山杖很轻。抓地力不错"
    ]
    assert result.events[ITEM_TEXT].iloc[0] == "Hario V60 & filters"
    assert pd.isna(result.events[ITEM_TEXT].iloc[1])
    assert result.events[LANGUAGE].tolist() == ["en", "zh"]
    assert list(result.events.columns) == [*EVENT_COLUMNS, LANGUAGE]


def test_quarantine_raw_is_the_original_text_truncated_and_scrubbed():
    events = make_events(["x" * 300, "<p></p>", "13812345678 13812345678"])
    raws = [q.raw for q in clean_events(events).quarantine]
    assert raws == ["x" * 200, "<p></p>", "[PHONE] [PHONE]"]


def test_counts_add_up_and_input_is_not_mutated():
    texts = [LONG_ZH, LONG_ZH, LONG_ZH + "啊", "哈哈哈哈", "", "<p>好评 &amp; 推荐</p>", "ok good"]
    events = make_events(texts, users=["u1"] * len(texts))
    before = events.copy(deep=True)
    calls = []
    result = clean_events(events, progress=lambda label, done, total: calls.append(label))
    pd.testing.assert_frame_equal(events, before)
    assert len(events) == len(result.events) + len(result.quarantine)
    assert len(result.quarantine) == (
        result.n_noise + result.n_exact_duplicates + result.n_near_duplicates
    )
    assert (result.n_noise, result.n_exact_duplicates, result.n_near_duplicates) == (2, 1, 1)
    assert calls and all(label.startswith("clean") for label in calls)


def test_empty_frame():
    result = clean_events(make_events([]))
    assert result.events.empty and result.quarantine == []


@pytest.mark.shared_data
def test_online_shopping_sample_rates(shared_data):
    reviews = pd.read_csv(shared_data / "online_shopping_10_cats.csv").sample(2000, random_state=0)
    events = make_events(reviews["review"].tolist(), items=reviews["cat"].tolist())
    result = clean_events(events, document_mode=True)
    assert len(result.events) + len(result.quarantine) == 2000
    assert len(result.quarantine) < 200
    assert (result.events[LANGUAGE] == "zh").mean() > 0.99
    assert not result.events[TEXT].str.contains("<br", regex=False).any()


def test_rows_that_repeat_earlier_kept_events_are_their_duplicates():
    kept = clean_events(make_events([LONG_EN, LONG_ZH], users=["u1", "u2"])).events
    kept[EVENT_ID] = ["old-en", "old-zh"]
    near_zh = LONG_ZH[:-1] + "呀" + LONG_ZH[-1]
    new = make_events([LONG_EN.upper() + "  ", near_zh, near_zh, LONG_EN],
                      users=["u1", "u2", "u3", "u3"])
    result = clean_events(new, earlier=kept)
    assert reasons_by_row(result) == {10: "duplicate of event old-en",
                                      11: "near-duplicate of event old-zh"}
    assert result.events[USER].tolist() == ["u3", "u3"]  # other users' texts are theirs
    assert len(clean_events(new).events) == 4  # without the earlier events, nothing repeats
