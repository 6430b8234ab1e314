import numpy as np
import pytest
from sklearn.base import clone

from interestlens.tools.records import LabelScore
from interestlens.tools.zeroshot import (
    ZeroShotLabeler,
    format_labels,
    label_terms,
    parse_labels,
    top_labels,
)

DIM = 20


def topic_rows(seed=0, per_topic=60, n_topics=3, spread=0.9):
    """Rows around hidden topic directions; each label vector is a rough hint of one topic."""
    rng = np.random.default_rng(seed)
    topics = np.linalg.qr(rng.normal(size=(DIM, DIM)))[0][:n_topics]
    truth = np.repeat(np.arange(n_topics), per_topic)
    rows = topics[truth] + spread * rng.normal(size=(len(truth), DIM)) / np.sqrt(DIM)
    hints = topics + 0.8 * rng.normal(size=topics.shape) / np.sqrt(DIM)
    return rows, truth, hints


def test_adapted_labels_beat_the_raw_label_vectors():
    rows, truth, hints = topic_rows()
    raw = (rows @ hints.T).argmax(axis=1)
    labeler = ZeroShotLabeler().fit(rows, hints)
    adapted = labeler.score(rows).argmax(axis=1)
    assert np.mean(adapted == truth) >= 0.95
    assert np.mean(adapted == truth) >= np.mean(raw == truth)


def test_a_label_close_to_everything_does_not_win_everywhere():
    rows, _, hints = topic_rows(seed=1)
    generic = rows.mean(axis=0, keepdims=True)  # the direction of the whole corpus
    labeler = ZeroShotLabeler().fit(rows, np.vstack([hints, generic]))
    winners = labeler.score(rows).argmax(axis=1)
    assert np.mean(winners == 3) < 0.3


def test_a_label_no_row_matches_takes_the_topic_no_other_label_claims():
    rows, truth, hints = topic_rows(seed=3)
    basis = np.linalg.qr(np.random.default_rng(3).normal(size=(DIM, DIM)))[0]
    absent = basis[-1]  # unused by the topics: a label word the rows never contain
    rows = rows - np.outer(rows @ absent, absent)
    labeler = ZeroShotLabeler().fit(rows, np.vstack([hints[:2], absent]))
    assert np.mean(labeler.score(rows).argmax(axis=1) == truth) >= 0.95


def test_rows_between_two_labels_do_not_drag_them_when_trimmed():
    rows, _, hints = topic_rows(seed=4)
    topics = np.linalg.qr(np.random.default_rng(4).normal(size=(DIM, DIM)))[0][:3]
    between = (topics[0] + topics[1]) / 2 + 0.9 * np.random.default_rng(5).normal(
        size=(80, DIM)) / np.sqrt(DIM)
    rows = np.vstack([rows, between])

    def closeness(trim):  # mean cosine of labels 0 and 1 to their true topic
        centroids = ZeroShotLabeler(trim=trim).fit(rows, hints).centroids_
        return np.mean(np.sum(centroids[:2] * topics[:2], axis=1))

    assert closeness(0.5) > closeness(1.0)


def test_scores_are_probabilities_and_top_labels_are_sorted():
    rows, _, hints = topic_rows(seed=2)
    scores = ZeroShotLabeler().fit(rows, hints).score(rows)
    assert scores.shape == (len(rows), 3)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)
    assert ((scores >= 0) & (scores <= 1)).all()
    best = top_labels(scores, ["咖啡", "茶", "数码"], k=2)
    assert all(len(row) == 2 and row[0].score >= row[1].score for row in best)
    assert best[0][0] == LabelScore(label=["咖啡", "茶", "数码"][scores[0].argmax()],
                                    score=round(float(scores[0].max()), 3))


def test_labels_of_another_width_are_rejected():
    rows, _, hints = topic_rows()
    with pytest.raises(ValueError, match="label vectors"):
        ZeroShotLabeler().fit(rows, hints[:, :5])
    with pytest.raises(ValueError, match="label vectors"):
        ZeroShotLabeler().fit(rows, np.zeros((0, DIM)))


def test_labeler_is_a_clonable_estimator():
    labeler = ZeroShotLabeler(anchor=0.3, trim=0.5, n_iter=4)
    assert clone(labeler).get_params() == {"anchor": 0.3, "trim": 0.5, "n_iter": 4}


@pytest.mark.parametrize(("labels", "language", "expected"), [
    (["手机", "计算机", "平板"], "zh",
     [["手", "手机"], ["计", "算", "计算", "算机"], ["平", "板", "平板"]]),
    (["coffee", "coffee machine"], "en", [["coffee"], ["machine"]]),  # none left: keeps its own
])
def test_label_terms_drop_what_another_label_shares(labels, language, expected):
    assert label_terms(labels, [language] * len(labels)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("咖啡,茶,数码", ("咖啡", "茶", "数码")),
    ("咖啡，茶， 数码 ,", ("咖啡", "茶", "数码")),
    ("coffee\ntea\n\ncoffee\n", ("coffee", "tea")),
    ("  ", ()),
])
def test_label_lists_are_split_on_commas_and_lines(text, expected):
    assert parse_labels(text) == expected


def test_labels_format_on_one_line():
    labels = (LabelScore(label="咖啡", score=0.812), LabelScore(label="茶", score=0.1))
    assert format_labels(labels) == "咖啡 0.81, 茶 0.10"
    assert format_labels(()) == ""
