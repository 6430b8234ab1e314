import re

import pytest

from interestlens.tools.name import EXTRACTIVE_NOTE, ExtractiveNamer, SegmentNamer, excerpt
from interestlens.tools.records import Segment, SegmentEvidence

CJK = re.compile(r"[\u4e00-\u9fff]")


def evidence(segment_id="s0", keywords=("espresso", "grinder", "milk", "latte"), **changes):
    fields = dict(segment_id=segment_id, cluster_id=0, n_users=312, share=0.125, n_events=1024,
                  keywords=tuple(keywords), sentiment=0.42, top_event_types=("review", "question"),
                  representative_texts=("I dial in my espresso every morning.",),
                  mean_confidence=0.9, language="en")
    return SegmentEvidence(**(fields | changes))


def test_extractive_namer_satisfies_the_protocol():
    namer: SegmentNamer = ExtractiveNamer()
    assert isinstance(namer.name([evidence()])[0], Segment)


def test_names_are_built_from_each_segments_own_keywords_and_are_unique():
    evs = [evidence("s0", ("espresso", "grinder", "milk", "latte")),
           evidence("s1", ("phone", "screen", "battery", "charger")),
           evidence("s2", ("hotel", "room", "breakfast", "staff"))]
    segments = ExtractiveNamer(n_name_keywords=3).name(evs)
    assert [s.segment_id for s in segments] == ["s0", "s1", "s2"]
    assert len({s.name for s in segments}) == 3
    for ev, seg in zip(evs, segments, strict=True):
        parts = seg.name.split(" · ")
        assert len(parts) == 3 and set(parts) <= set(ev.keywords)


def test_keywords_shared_with_other_segments_move_behind_distinct_ones():
    evs = [evidence("s0", ("coffee", "espresso", "grinder", "milk")),
           evidence("s1", ("coffee", "tea", "kettle", "leaf"))]
    names = [s.name for s in ExtractiveNamer().name(evs)]
    assert names == ["espresso · grinder · milk", "tea · kettle · leaf"]


def test_nested_keywords_do_not_repeat_in_a_name():
    seg = ExtractiveNamer(n_name_keywords=2).name(
        [evidence(keywords=("coffee beans", "coffee", "roast"))])[0]
    assert seg.name == "coffee beans · roast"


def test_colliding_names_are_extended_then_numbered():
    same = ("espresso", "grinder", "milk", "latte")
    segments = ExtractiveNamer(n_name_keywords=2).name(
        [evidence("a", same), evidence("b", same), evidence("c", same)])
    names = [s.name for s in segments]
    assert names[0] == "espresso · grinder"
    assert names[1] == "espresso · grinder · milk"
    assert names[2] == "espresso · grinder (2)"


def test_segment_without_keywords_gets_a_neutral_name_from_its_id():
    segments = ExtractiveNamer().name([evidence("s7", ()), evidence("s8", (), language="zh")])
    assert segments[0].name == "Segment s7"
    assert "s8" in segments[1].name and CJK.search(segments[1].name)
    assert "No characteristic keywords" in segments[0].description


def test_description_carries_the_evidence_numbers():
    seg = ExtractiveNamer().name([evidence(sentiment=0.42)])[0]
    for fact in ("312 users", "12.5 %", "1,024 events", '"espresso"', "positive", "+0.42",
                 "review", '"I dial in my espresso every morning."'):
        assert fact in seg.description
    assert not CJK.search(seg.description)
    assert 2 <= seg.description.count(". ") + 1 <= 5


@pytest.mark.parametrize("score, word", [(0.6, "positive"), (0.0, "mixed"), (-0.7, "negative")])
def test_sentiment_is_put_in_words(score, word):
    seg = ExtractiveNamer().name([evidence(sentiment=score)])[0]
    assert f"sentiment is {word} ({score:+.2f})" in seg.description


def test_low_confidence_is_flagged_only_when_low():
    low, high = ExtractiveNamer().name([evidence("a", mean_confidence=0.31),
                                        evidence("b", mean_confidence=0.95, keywords=("x",))])
    assert "0.31" in low.description and "tentative" in low.description
    assert "tentative" not in high.description


def test_representative_texts_are_truncated_and_capped_at_three():
    texts = ("a" * 200, "second text", "third text", "fourth text")
    seg = ExtractiveNamer().name([evidence(representative_texts=texts)])[0]
    assert '"' + "a" * 79 + '…"' in seg.description and "a" * 80 not in seg.description
    assert "third text" in seg.description and "fourth text" not in seg.description


def test_chinese_segment_gets_the_chinese_template():
    ev = evidence(keywords=("手机", "屏幕", "电池", "快递"), language="zh",
                  representative_texts=("屏幕清晰，电池耐用",), sentiment=-0.5)
    seg = ExtractiveNamer().name([ev])[0]
    assert seg.name == "手机、屏幕、电池"
    assert "312 位用户" in seg.description and "12.5 %" in seg.description
    assert "“手机”" in seg.description and "负面" in seg.description
    assert "“屏幕清晰，电池耐用”" in seg.description
    assert "users" not in seg.description


def test_mode_note_and_evidence_fields_are_carried_over():
    ev = evidence(cluster_id=3, mean_confidence=0.4)
    seg = ExtractiveNamer().name([ev])[0]
    assert seg.naming_mode == "extractive" and seg.naming_note == EXTRACTIVE_NOTE
    assert (seg.cluster_id, seg.n_users, seg.share, seg.n_events, seg.keywords,
            seg.mean_confidence) == (3, 312, 0.125, 1024, ev.keywords, 0.4)


def test_naming_is_deterministic():
    evs = [evidence("a"), evidence("b"), evidence("c", ())]
    assert ExtractiveNamer().name(evs) == ExtractiveNamer().name(evs)


def test_excerpt_keeps_one_line_and_width():
    assert excerpt("a\nb   c") == "a b c"
    assert len(excerpt("字" * 100, 80)) == 80 and excerpt("字" * 100, 80).endswith("…")


def test_the_default_event_type_of_untyped_data_is_not_reported():
    typed = ExtractiveNamer().name([evidence()])[0].description
    untyped = ExtractiveNamer().name([evidence(top_event_types=("event",))])[0].description
    assert "review" in typed
    assert "most events are" not in untyped and "event," not in untyped
