"""Seeded bilingual demo data: users with latent interest groups, drift, and a few dirty rows.

The events look like a user's export (``user_id, timestamp, event_type, text, item_id,
item_title``); the truth behind them (each user's group, who drifted, which rows were planted
dirty) is returned beside the events and never written into them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from interestlens.tools.atomic import atomic_write_csv
from interestlens.tools.errors import ConfigError

logger = logging.getLogger(__name__)

DEMO_COLUMNS: tuple[str, ...] = (
    "user_id", "timestamp", "event_type", "text", "item_id", "item_title",
)
EVENT_TYPES: tuple[str, ...] = ("browse", "comment", "question", "review", "purchase")
_EVENT_TYPE_SHARES = (0.40, 0.15, 0.10, 0.15, 0.20)
_ITEMS_PER_GROUP = 15
_DRIFT_SHARE = 0.10
_MIN_LATE_EVENTS = 4  # a drifting user shows at least this many events in the last third


@dataclass(frozen=True)
class _Group:
    key: str
    language: str
    brands: tuple[str, ...]
    products: tuple[str, ...]
    aspects: tuple[str, ...]
    contexts: tuple[str, ...]


@dataclass(frozen=True)
class _Language:
    series: tuple[str, ...]
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    positive_tails: tuple[str, ...]
    negative_tails: tuple[str, ...]
    queries: tuple[str, ...]
    modifiers: tuple[str, ...]
    templates: dict[str, tuple[str, ...]]


_GROUPS: tuple[_Group, ...] = (
    _Group("zh-coffee", "zh", ("Hario", "Kalita", "泰摩", "Comandante", "小富士"),
           ("手冲壶", "磨豆机", "滤杯", "咖啡豆", "电子秤", "滤纸"),
           ("口感", "香气", "研磨均匀度", "出水稳定性", "做工", "酸度"),
           ("每天早上", "周末在家", "在办公室", "露营的时候")),
    _Group("zh-hiking", "zh", ("凯乐石", "探路者", "始祖鸟", "迪卡侬", "北面"),
           ("登山鞋", "冲锋衣", "登山杖", "徒步背包", "速干裤", "头灯"),
           ("防水性", "抓地力", "透气性", "背负系统", "耐磨度", "重量"),
           ("爬山时", "周末徒步", "雨天穿越", "重装徒步时")),
    _Group("zh-baby", "zh", ("贝亲", "好奇", "帮宝适", "飞鹤", "好孩子"),
           ("纸尿裤", "奶瓶", "婴儿推车", "奶粉", "安抚奶嘴", "婴儿湿巾"),
           ("吸收性", "材质安全", "防胀气效果", "柔软度", "折叠便利", "宝宝接受度"),
           ("宝宝三个月时", "夜里喂奶时", "出门遛娃", "给新生儿")),
    _Group("en-photo", "en", ("Sony", "Fujifilm", "Canon", "Nikon", "Sigma"),
           ("mirrorless camera", "prime lens", "zoom lens", "camera bag", "tripod", "flash"),
           ("autofocus", "image quality", "battery life", "build quality", "bokeh", "sharpness"),
           ("in low light", "on street shoots", "at weddings", "while travelling")),
    _Group("en-running", "en", ("Nike", "Asics", "Garmin", "Hoka", "Brooks"),
           ("running shoes", "GPS watch", "running vest", "foam roller", "heart rate strap",
            "compression socks"),
           ("cushioning", "fit", "GPS accuracy", "breathability", "durability", "weight"),
           ("on long runs", "during interval training", "on the trails", "before races")),
    _Group("en-boardgames", "en", ("Catan", "Wingspan", "Azul", "Pandemic", "Carcassonne"),
           ("base game", "expansion", "card sleeves", "dice tower", "game insert", "playmat"),
           ("replayability", "rulebook", "component quality", "player interaction",
            "setup time", "artwork"),
           ("on game night", "with the family", "at our local club", "with two players")),
)

_LANGUAGES: dict[str, _Language] = {
    "zh": _Language(
        series=("经典款", "升级版", "轻量版"),
        positive=("很不错", "超出预期", "相当稳定", "挑不出毛病", "比想象中好", "让人惊喜"),
        negative=("很一般", "不如预期", "不太稳定", "毛病不少", "比宣传差", "让人失望"),
        positive_tails=("推荐给大家。", "下次还会回购。", "整体很满意。", "", "值这个价。"),
        negative_tails=("不太推荐。", "准备退货了。", "有点后悔买了。", "", "性价比不高。"),
        queries=("推荐", "评测", "怎么选", "价格", "哪个好", "入门", "对比", "优惠"),
        modifiers=("", "新款", "二手", "500元以内", "高性价比", "旗舰", "便携", "2026款"),
        templates={
            "review": ("{brand}这款{product}{aspect}{op}，{context}用了{weeks}周，{tail}",
                       "{context}一直在用{product}，{aspect}{op}，{aspect2}{op2}。{tail}",
                       "说说{brand}{product}：{aspect}{op}。{tail}"),
            "comment": ("同意楼上，{product}的{aspect}确实{op}。",
                        "{context}我也用{brand}的{product}，{aspect}{op}。{tail}",
                        "补充一点：{product}{aspect}{op}，{aspect2}{op2}。"),
            "question": ("请问{brand}{product}的{aspect}怎么样？{context}用合适吗？",
                         "{context}想入手{product}，{brand}和{brand2}哪个{aspect}更好？",
                         "新手求问：{product}的{aspect}需要注意什么？"),
            "browse": ("{modifier} {brand} {product} {aspect} {query}",
                       "{modifier}{product} {query} {context}",
                       "{query} {modifier}{product} {aspect}"),
            "purchase": ("下单了{modifier}{brand}{product}，希望{aspect}靠谱。{tail}",
                         "买了{brand}的{product}，{context}用，看重{aspect}，{weeks}天后到货。",
                         "回购{brand}{product}，{aspect}{op}。{tail}"),
        },
    ),
    "en": _Language(
        series=("Mk II", "Pro", "Lite"),
        positive=("is excellent", "exceeded my expectations", "is rock solid",
                  "is better than advertised", "feels premium", "is surprisingly good"),
        negative=("is mediocre", "fell short of expectations", "is inconsistent",
                  "is worse than advertised", "feels cheap", "is disappointing"),
        positive_tails=("Highly recommended.", "Would buy again.", "Very happy overall.", "",
                        "Worth every penny."),
        negative_tails=("Not recommended.", "Returning it.", "I regret this one.", "",
                        "Overpriced for what it is."),
        queries=("review", "price", "deals", "guide", "comparison", "for beginners", "vs",
                 "recommendations"),
        modifiers=("", "new", "used", "under $200", "budget", "flagship", "compact", "2026"),
        templates={
            "review": ("The {brand} {product}: the {aspect} {op}. Used it {context} for {weeks} "
                       "weeks. {tail}",
                       "Using my {product} {context}, the {aspect} {op} and the {aspect2} {op2}. "
                       "{tail}",
                       "Quick review of the {brand} {product}: {aspect} {op}. {tail}"),
            "comment": ("Agree with the above, the {aspect} of the {product} {op}.",
                        "I use the {brand} {product} {context} too, and the {aspect} {op}. {tail}",
                        "One more point: the {product}'s {aspect} {op}, while the {aspect2} "
                        "{op2}."),
            "question": ("How is the {aspect} on the {brand} {product}? Is it good {context}?",
                         "Looking for a {product} to use {context}: {brand} or {brand2}, which "
                         "has better {aspect}?",
                         "Beginner question: what matters for {product} {aspect}?"),
            "browse": ("{modifier} {brand} {product} {aspect} {query}",
                       "{modifier} {product} {query} {context}",
                       "{product} {aspect} {query} {modifier}"),
            "purchase": ("Ordered the {modifier} {brand} {product}, hoping the {aspect} holds up. "
                         "{tail}",
                         "Picked up the {brand} {product} to use {context}; {aspect} mattered. "
                         "Arrived in {weeks} days.",
                         "Re-ordered the {brand} {product}, the {aspect} {op}. {tail}"),
        },
    ),
}


@dataclass(frozen=True)
class _Item:
    item_id: str
    title: str
    brand: str
    product: str


@dataclass(frozen=True)
class DemoData:
    """Demo events and the truth they were generated from.

    Args:
        events: One row per event, columns ``DEMO_COLUMNS``, sorted by time.
        groups: user id -> latent interest group the user starts in (e.g. "zh-coffee").
        drifted: user id -> group whose interests the user takes up in the last third.
        planted: row position in ``events`` -> kind of planted dirty row ("html", "pii",
            "exact_duplicate", "near_duplicate", "spam", "link", "empty").
    """

    events: pd.DataFrame
    groups: dict[str, str]
    drifted: dict[str, str] = field(default_factory=dict)
    planted: dict[int, str] = field(default_factory=dict)


def _catalogue(group: _Group) -> tuple[_Item, ...]:
    """Return the group's items; brand and product cycle with co-prime periods, so no repeats."""
    series = _LANGUAGES[group.language].series
    items = []
    for index in range(_ITEMS_PER_GROUP):
        brand = group.brands[index % len(group.brands)]
        product = group.products[index % len(group.products)]
        title = f"{brand} {product} {series[index % len(series)]}"
        items.append(_Item(f"{group.key}-{index:03d}", title, brand, product))
    return tuple(items)


_CATALOGUES: dict[str, tuple[_Item, ...]] = {group.key: _catalogue(group) for group in _GROUPS}


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _compose(rng: np.random.Generator, group: _Group, item: _Item, event_type: str,
             is_positive: bool) -> str:
    """Compose one event text from the group vocabulary and the language's templates."""
    language = _LANGUAGES[group.language]
    aspect, aspect2 = rng.choice(len(group.aspects), size=2, replace=False)
    second_positive = is_positive if rng.random() < 0.8 else not is_positive
    slots = {
        "brand": item.brand,
        "brand2": _pick(rng, tuple(b for b in group.brands if b != item.brand)),
        "product": item.product,
        "aspect": group.aspects[aspect],
        "aspect2": group.aspects[aspect2],
        "op": _pick(rng, language.positive if is_positive else language.negative),
        "op2": _pick(rng, language.positive if second_positive else language.negative),
        "tail": _pick(rng, language.positive_tails if is_positive else language.negative_tails),
        "context": _pick(rng, group.contexts),
        "query": _pick(rng, language.queries),
        "modifier": _pick(rng, language.modifiers),
        "weeks": int(rng.integers(1, 13)),
    }
    text = _pick(rng, language.templates[event_type]).format(**slots)
    return " ".join(text.split())


def _event_days(rng: np.random.Generator, n_days: int, is_drifting: bool) -> np.ndarray:
    """Return sorted event times (fractional days) of one user."""
    days = rng.uniform(0, n_days, size=int(rng.integers(10, 23)))
    n_late = int((days >= n_days * 2 / 3).sum())
    if is_drifting and n_late < _MIN_LATE_EVENTS:
        extra = rng.uniform(n_days * 2 / 3, n_days, size=_MIN_LATE_EVENTS - n_late)
        days = np.concatenate([days, extra])
    return np.sort(days)


def _user_events(rng: np.random.Generator, user: str, groups: tuple[_Group, _Group | None],
                 n_days: int, start: pd.Timestamp) -> list[dict]:
    """Return the events of one user; ``groups`` holds the own group and the drift target."""
    own, target = groups
    popularity = 1.0 / np.arange(1, _ITEMS_PER_GROUP + 1) ** 0.8
    popularity /= popularity.sum()
    favourites = {g.key: rng.choice(_ITEMS_PER_GROUP, 4, replace=False, p=popularity)
                  for g in (own, target) if g is not None}
    positivity = rng.uniform(0.5, 0.9)
    rows = []
    for day in _event_days(rng, n_days, target is not None):
        group = target if target is not None and day >= n_days * 2 / 3 else own
        is_favourite = rng.random() < 0.75
        index = rng.choice(favourites[group.key]) if is_favourite else rng.choice(
            _ITEMS_PER_GROUP, p=popularity)
        item = _CATALOGUES[group.key][int(index)]
        event_type = EVENT_TYPES[int(rng.choice(len(EVENT_TYPES), p=_EVENT_TYPE_SHARES))]
        rows.append({
            "user_id": user,
            "timestamp": start + pd.Timedelta(seconds=int(day * 86400)),
            "event_type": event_type,
            "text": _compose(rng, group, item, event_type, rng.random() < positivity),
            "item_id": item.item_id,
            "item_title": item.title,
        })
    return rows


def _copy_row(events: pd.DataFrame, pos: int, kind: str, text: str, minutes: int) -> dict:
    """Return a new row by the same user on the same item, ``minutes`` after row ``pos``."""
    row = events.iloc[pos].to_dict()
    row.update(kind=kind, text=text, timestamp=row["timestamp"] + pd.Timedelta(minutes=minutes))
    if kind in ("spam", "link", "empty"):
        row["event_type"] = "comment"
    return row


def _plant_dirty_rows(rng: np.random.Generator, events: pd.DataFrame) -> pd.DataFrame:
    """Return ``events`` with a ``kind`` column and a few dirty rows edited in or added."""
    events = events.assign(kind="")
    is_zh = events["item_id"].str.startswith("zh-").to_numpy()
    is_review = (events["event_type"] == "review").to_numpy()
    lengths = events["text"].str.len().to_numpy()
    longest = {lang: int(np.argmax(np.where(is_review & (is_zh == (lang == "zh")), lengths, -1)))
               for lang in ("zh", "en")}
    spare = [pos for pos in rng.permutation(len(events)).tolist() if pos not in longest.values()]
    is_wordy = events["event_type"].isin(["review", "comment", "question"]).to_numpy()
    zh_rows = [pos for pos in spare if is_zh[pos] and is_wordy[pos]][:4]
    en_rows = [pos for pos in spare if not is_zh[pos] and is_wordy[pos]][:4]
    text = events["text"]
    edits = {
        zh_rows[0]: ("html", f'<div class="review"><p>{text[zh_rows[0]]}</p>'
                             "<p>物流很快&amp;包装完好</p><script>track(1)</script></div>"),
        en_rows[0]: ("html", f"<p>{text[en_rows[0]]}</p><br/><p>5 stars &amp; would buy again"
                             "</p><style>.x {color: red}</style>"),
        zh_rows[1]: ("pii", f"{text[zh_rows[1]]} 有问题打我电话 138 1234 5678，"
                            "邮箱 xiaoming_88@163.com"),
        en_rows[1]: ("pii", f"{text[en_rows[1]]} Email me at jane.doe@example.com or call "
                            "(555) 123-4567."),
    }
    for pos, (kind, new_text) in edits.items():
        events.loc[pos, ["kind", "text"]] = [kind, new_text]
    added = [
        _copy_row(events, zh_rows[2], "exact_duplicate", text[zh_rows[2]], 2),
        _copy_row(events, en_rows[2], "exact_duplicate",
                  "  " + text[en_rows[2]].upper().replace(" ", "  ") + "!!", 5),
        _copy_row(events, longest["zh"], "near_duplicate", "真的" + text[longest["zh"]], 60),
        _copy_row(events, longest["en"], "near_duplicate", text[longest["en"]] + " Really.", 60),
        _copy_row(events, zh_rows[3], "spam", "哈哈哈哈哈哈哈哈", 7),
        _copy_row(events, en_rows[3], "spam", "!!!!!!", 7),
        _copy_row(events, en_rows[3], "link", "https://promo.example.com/deal?id=42", 9),
        _copy_row(events, zh_rows[3], "empty", "", 11),
        _copy_row(events, en_rows[2], "empty", "<p> </p>", 13),
    ]
    events = pd.concat([events, pd.DataFrame(added)], ignore_index=True)
    return events.sort_values("timestamp", kind="stable").reset_index(drop=True)


def generate_demo(
    *, n_users: int = 240, n_days: int = 120, seed: int = 0, start: str = "2026-01-01"
) -> DemoData:
    """Generate seeded demo events of users in six bilingual interest groups.

    Half the groups write Chinese, half English; about 10 % of users take up another group's
    interests in the last third of the period, and a few dirty rows (HTML, PII, duplicates,
    spam, a link, empty texts) are planted for the clean stage to catch.

    Args:
        n_users: Number of users; at least 12 (two per group).
        n_days: Length of the period in days; at least 3.
        seed: Same seed, same data.
        start: First day of the period, as an ISO date (UTC).

    Raises:
        ConfigError: ``n_users`` or ``n_days`` is too small.
    """
    if n_users < 2 * len(_GROUPS) or n_days < 3:
        raise ConfigError(f"demo needs n_users >= {2 * len(_GROUPS)} and n_days >= 3, "
                          f"got n_users={n_users}, n_days={n_days}")
    rng = np.random.default_rng(seed)
    start_time = pd.Timestamp(start, tz="UTC")
    assignment = rng.permutation(np.arange(n_users) % len(_GROUPS))
    drifting = set(rng.choice(n_users, round(_DRIFT_SHARE * n_users), replace=False).tolist())
    groups, drifted, rows = {}, {}, []
    for index in range(n_users):
        user, own = f"u{index:04d}", _GROUPS[int(assignment[index])]
        target = _drift_target(rng, own) if index in drifting else None
        groups[user] = own.key
        if target is not None:
            drifted[user] = target.key
        rows += _user_events(rng, user, (own, target), n_days, start_time)
    events = pd.DataFrame(rows).sort_values(["timestamp", "user_id"], kind="stable")
    events = _plant_dirty_rows(rng, events.reset_index(drop=True))
    planted = {pos: kind for pos, kind in enumerate(events.pop("kind")) if kind}
    events["timestamp"] = events["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    logger.info("demo: %d events of %d users, %d drifting, %d planted dirty rows",
                len(events), n_users, len(drifted), len(planted))
    return DemoData(events=events[list(DEMO_COLUMNS)], groups=groups, drifted=drifted,
                    planted=planted)


GROUP_KEYS: tuple[str, ...] = tuple(group.key for group in _GROUPS)
"""The demo's interest groups, e.g. "zh-coffee", "en-photo"."""


def group_event(rng: np.random.Generator, user: str, group_key: str,
                when: pd.Timestamp) -> dict:
    """Return one demo event (``DEMO_COLUMNS``) of ``user`` about group ``group_key`` at ``when``.

    Raises:
        ConfigError: ``group_key`` is not one of ``GROUP_KEYS``.
    """
    if group_key not in _CATALOGUES:
        raise ConfigError(f"unknown demo group {group_key!r}; groups: {', '.join(GROUP_KEYS)}")
    group = next(g for g in _GROUPS if g.key == group_key)
    item = _CATALOGUES[group_key][int(rng.integers(_ITEMS_PER_GROUP))]
    event_type = EVENT_TYPES[int(rng.choice(len(EVENT_TYPES), p=_EVENT_TYPE_SHARES))]
    return {"user_id": user, "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "event_type": event_type,
            "text": _compose(rng, group, item, event_type, rng.random() < 0.7),
            "item_id": item.item_id, "item_title": item.title}


def _drift_target(rng: np.random.Generator, own: _Group) -> _Group:
    """Return another group of the same language for a drifting user."""
    others = [group for group in _GROUPS if group.language == own.language and group != own]
    return others[int(rng.integers(len(others)))]


def write_demo_csv(
    path: Path, *, n_users: int = 240, n_days: int = 120, seed: int = 0, start: str = "2026-01-01"
) -> Path:
    """Write the events of ``generate_demo`` (same options) to ``path`` as UTF-8 CSV, atomically."""
    demo = generate_demo(n_users=n_users, n_days=n_days, seed=seed, start=start)
    return atomic_write_csv(Path(path), demo.events)
