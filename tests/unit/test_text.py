from __future__ import annotations

import time

import pandas as pd
import pytest

from interestlens.tools.text import (
    char_terms,
    has_cjk,
    has_letter,
    stopwords,
    tokenize,
    tokenize_many,
)

REVIEW = "这个手机的价格很便宜，物流也很快！！质量不错，就是电池一般。我觉得还是挺值的，2019年买的"
DROPPED = ("这个", "的", "很", "也", "就是", "我", "觉得", "还是", "，", "！", "2019")


def test_chinese_keeps_topic_words_and_drops_stopwords_punctuation_and_single_characters():
    tokens = tokenize(REVIEW, "zh")
    for word in ("手机", "价格", "物流", "质量", "电池"):
        assert word in tokens
    assert not set(DROPPED) & set(tokens)
    assert all(len(token) > 1 for token in tokens)


def test_chinese_drops_full_width_punctuation_digits_and_whitespace():
    tokens = tokenize("  酒店【前台】服务：１２３分（满分）…… \t\n 早餐 ２０ 元 ", "zh")
    assert "酒店" in tokens and "前台" in tokens and "早餐" in tokens
    assert all(has_letter(token) and not token.isspace() for token in tokens)
    assert not any(char in "".join(tokens) for char in "【】：（）…１２３０")


def test_english_inside_chinese_is_lower_cased_and_stopword_filtered():
    tokens = tokenize("新买的iPhone屏幕很好，the battery is great but THE camera", "zh")
    assert {"iphone", "屏幕", "battery", "camera"} <= set(tokens)
    assert "the" not in tokens and "is" not in tokens and "but" not in tokens


def test_english_keeps_content_words_only():
    text = "I don't like the coffee's taste; the Espresso-Machine works 24/7 with my grinder. A+ 42"
    tokens = tokenize(text, "en")
    assert tokens == ["coffee", "taste", "espresso-machine", "grinder"]


def test_other_language_uses_the_word_splitter():
    tokens = tokenize("Le café est très bon, vraiment délicieux", "other")
    assert tokens == "le café est très bon vraiment délicieux".split()


def test_text_with_chinese_is_cut_with_jieba_whatever_the_language_code():
    assert tokenize("我喜欢咖啡和徒步旅行", "en") == tokenize("我喜欢咖啡和徒步旅行", "zh")
    assert "咖啡" in tokenize("我喜欢咖啡和徒步旅行", "en")


@pytest.mark.parametrize("text", ["", None, 3.5, "。，！？", "   ", "的了是在"])
def test_empty_or_content_free_text_gives_no_tokens(text):
    assert tokenize(text, "zh") == []


def test_stopword_lists_are_substantial_and_spare_interest_words():
    zh = stopwords("zh")
    assert len(zh) >= 500
    assert {"的", "感觉", "觉得", "非常", "东西", "一下", "时候", "而且", "但是", "这个"} <= zh
    assert not {"价格", "质量", "物流", "酒店", "手机", "服务", "屏幕", "咖啡"} & zh
    en = stopwords("en")
    assert {"the", "and", "don't", "dont"} <= en
    assert not {"coffee", "price", "quality", "hotel", "phone"} & en


def test_has_cjk_and_has_letter():
    assert has_cjk("abc咖啡") and not has_cjk("abc 123")
    assert has_letter("mp3") and has_letter("咖啡")
    assert not has_letter("２０１９") and not has_letter("3.5")


def test_tokenize_many_keeps_order_and_reports_progress():
    calls = []
    texts = ["咖啡很好喝", "great hiking trail", "", "物流很快"]
    languages = ["zh", "en", "en", "zh"]
    result = tokenize_many(texts, languages, progress=lambda *a: calls.append(a))
    assert result == [tokenize(t, lang) for t, lang in zip(texts, languages, strict=True)]
    assert calls[-1] == ("tokenize", 4, 4)


def test_tokenize_many_rejects_misaligned_languages():
    with pytest.raises(ValueError, match="2 texts but 1"):
        tokenize_many(["a", "b"], ["en"])


@pytest.mark.shared_data
def test_tokenizes_real_reviews_fast_and_keeps_category_words(shared_data):
    frame = pd.read_csv(shared_data / "online_shopping_10_cats.csv", nrows=62_774)
    sample = frame.sample(3000, random_state=0)
    tokenize("预热", "zh")  # load jieba's dictionary outside the timing
    started = time.process_time()
    docs = tokenize_many(sample["review"].fillna("").tolist(), ["zh"] * len(sample))
    elapsed = time.process_time() - started
    assert elapsed < 10  # about 1.5 s on an idle core; generous for a busy machine
    words = {word for doc in docs for word in doc}
    assert {"酒店", "手机", "价格", "质量", "物流", "水果"} <= words
    assert not words & stopwords("zh")
    assert sum(map(len, docs)) / len(docs) > 5


def test_char_terms_give_chinese_characters_and_pairs_and_english_words():
    terms = char_terms("新买的iPhone屏幕，the battery is long", "zh")
    assert {"新", "买", "新买", "买的", "屏", "幕", "屏幕", "iphone", "battery"} <= set(terms)
    assert "的i" not in terms and "幕，" not in terms and "幕the" not in terms  # pairs stay in runs
    assert "the" not in terms and "is" not in terms
    assert not any(char in "".join(terms) for char in "，, ")


def test_char_terms_of_english_are_its_words():
    text = "I don't like the coffee's taste; the Espresso-Machine works"
    assert char_terms(text, "en") == tokenize(text, "en")
    assert char_terms(None, "en") == [] and char_terms("", "zh") == []


def test_tokenize_many_cuts_chinese_by_words_or_by_characters():
    texts, languages = ["这个手机的电池一般", "mirrorless camera"], ["zh", "en"]
    words = tokenize_many(texts, languages)
    chars = tokenize_many(texts, languages, chinese="chars")
    assert "电池" in words[0] and "电" not in words[0]
    assert {"电", "池", "电池", "机的"} <= set(chars[0])
    assert words[1] == chars[1] == ["mirrorless", "camera"]


def test_tokenize_many_reuses_given_words_only_where_both_cuts_agree():
    texts = ["这个手机的电池一般", "mirrorless camera", "the 咖啡 beans", "plain english", None]
    languages = ["zh", "en", "en", "zh", "en"]
    words = tokenize_many(texts, languages)
    chars = tokenize_many(texts, languages, chinese="chars", words=words)
    assert chars == tokenize_many(texts, languages, chinese="chars")
    assert chars[1] is words[1] and chars[4] is words[4]  # English: not cut a second time
    assert chars[0] is not words[0] and chars[2] is not words[2]  # Chinese, CJK in English
    assert chars[3] is not words[3]  # tagged "zh": tokenize would use jieba on it
    with pytest.raises(ValueError, match="5 texts but 2 word lists"):
        tokenize_many(texts, languages, chinese="chars", words=words[:2])


def test_english_words_keep_inner_apostrophes_and_hyphens_and_drop_possessives():
    text = "The dog\u2019s e-mail: rock'n'roll x-ray-- a--b 12-34 o'neil's 3d"
    assert tokenize(text, "en") == ["dog", "e-mail", "rock'n'roll", "x-ray", "o'neil", "3d"]


def test_pii_placeholders_are_not_words_or_terms():
    text = "Mail [EMAIL] or call [PHONE] about my espresso; ID [ID], number [CARD]. 咖啡[EMAIL]很好"
    for cut in (tokenize, char_terms):
        terms = cut(text, "en")
        assert "espresso" in terms and "mail" in terms  # the user's own words stay
        assert not {"email", "phone", "id", "card"} & set(terms)
    assert tokenize("[email] is a word when the user writes it", "en")[0] == "email"
