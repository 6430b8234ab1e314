import json

import numpy as np
import pandas as pd
import pytest

from interestlens.tools.catalogue import (
    FILE_ITEM_COLUMNS,
    ItemFilter,
    date_bound,
    load_catalogue,
    merge_catalogue,
    parse_catalogue_map,
)
from interestlens.tools.errors import ConfigError, InputError
from interestlens.tools.interactions import CATALOGUE_COLUMNS
from interestlens.tools.records import (
    EVENT_ID,
    EVENT_TYPE,
    ITEM_ID,
    ITEM_TEXT,
    TEXT,
    TIMESTAMP,
    USER,
)

CSV = """item_id,title,genres,description,release_date
m1,Alien (1979),Horror|Sci-Fi,A crew meets a creature,1979-05-25
m2,Heat (1995),Action;Crime,,1995-12-15
,No id,Drama,,2000-01-01
m1,Alien again,Horror,,1979-05-25
m3,,Drama,,2001-01-01
m4,Toy Story (1995),Animation,,someday
m5,Up (2009),Animation,,2009
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_catalogue_detects_roles_and_joins_the_text(tmp_path):
    catalogue = load_catalogue(write(tmp_path, "movies.csv", CSV))
    assert catalogue.roles == {"item_id": "item_id", "title": "title", "category": "genres",
                               "description": "description", "date": "release_date"}
    items = catalogue.items
    assert list(items.columns) == list(FILE_ITEM_COLUMNS)
    assert items["item_id"].tolist() == ["m1", "m2", "m5"]
    assert items["item_text"].tolist() == [
        "Alien (1979) | Horror, Sci-Fi | A crew meets a creature", "Heat (1995) | Action, Crime",
        "Up (2009) | Animation"]
    assert items["category"].tolist() == ["Horror|Sci-Fi", "Action|Crime", "Animation"]
    assert items["date"].dt.year.tolist() == [1979, 1995, 2009]  # a bare year is 1 January
    assert str(items["date"].dt.tz) == "UTC"


def test_bad_rows_are_quarantined_with_row_and_reason(tmp_path):
    catalogue = load_catalogue(write(tmp_path, "movies.csv", CSV))
    reasons = {q.row: q.reason for q in catalogue.quarantine}
    assert reasons == {2: "empty item id", 3: "repeated item id m1 (first at row 0)",
                       4: "empty item text (no title or description)",
                       5: "date 'someday' is not a date"}
    assert all(q.source == "movies.csv" for q in catalogue.quarantine)
    assert catalogue.n_rows == len(catalogue.items) + len(catalogue.quarantine) == 7


def test_chinese_headers_and_json_list_categories(tmp_path):
    rows = [{"商品ID": "p1", "商品名称": "手冲壶", "分类": ["咖啡", "厨房"],
             "上架时间": "2023年5月1日"},
            {"商品ID": "p2", "商品名称": "登山鞋", "分类": [], "上架时间": None}]
    catalogue = load_catalogue(write(tmp_path, "items.json", json.dumps(rows, ensure_ascii=False)))
    assert catalogue.items["item_text"].tolist() == ["手冲壶 | 咖啡, 厨房", "登山鞋"]
    assert catalogue.items["category"].tolist() == ["咖啡|厨房", ""]
    assert catalogue.items["date"].iloc[0] == pd.Timestamp("2023-05-01", tz="UTC")
    assert pd.isna(catalogue.items["date"].iloc[1]) and not catalogue.quarantine


def test_csv_cells_holding_json_lists_give_categories_the_filter_finds(tmp_path):
    text = ('id,title,genres\nm1,Heat,"[""Drama"",""Comedy""]"\nm2,Up,[]\n'
            'm3,Alien,Horror|Sci-Fi\nm4,Odd,[not json\n')
    items = load_catalogue(write(tmp_path, "items.csv", text)).items
    assert items["category"].tolist() == ["Drama|Comedy", "", "Horror|Sci-Fi", "[not json"]
    assert items["item_text"].iloc[0] == "Heat | Drama, Comedy"
    assert items["item_id"][ItemFilter(category="comedy").mask(items)].tolist() == ["m1"]


def test_jsonl_bad_line_and_parquet_are_read(tmp_path):
    lines = '{"id": "a", "name": "Kettle"}\n{"id": "b", "name": \n{"id": "c", "name": "Grinder"}\n'
    catalogue = load_catalogue(write(tmp_path, "items.jsonl", lines))
    assert catalogue.items["item_id"].tolist() == ["a", "c"]
    assert catalogue.quarantine[0].row == 1 and "malformed JSON" in catalogue.quarantine[0].reason
    path = tmp_path / "items.parquet"
    pd.DataFrame({"sku": ["x", "y"], "title": ["Tent", "Stove"],
                  "tags": [["camping"], ["camping", "kitchen"]]}).to_parquet(path)
    assert load_catalogue(path).items["category"].tolist() == ["camping", "camping|kitchen"]


@pytest.mark.parametrize(("text", "message"), [
    ("title,genres\nAlien,Horror\n", r"items\.csv: no item id column .*columns: title, genres"),
    ("item_id,genres\nm1,Horror\n", r"items\.csv: no item text column"),
    ("", r"items\.csv: empty file"),
    ("id,title\n,Kettle\nk2,\n", r"items\.csv, row 0: no usable items: all 2 rows were "
                                 r"quarantined \(first: empty item id\)"),
])
def test_unusable_files_are_one_line_input_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message) as err:
        load_catalogue(write(tmp_path, "items.csv", text))
    assert "\n" not in str(err.value)


def test_missing_file_and_unknown_suffix_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such catalogue file"):
        load_catalogue(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"unsupported catalogue file type '\.xml'"):
        load_catalogue(write(tmp_path, "items.xml", "<items/>"))


def test_column_map_overrides_detection(tmp_path):
    path = write(tmp_path, "items.csv", "code,label,kind\nk1,Kettle,kitchen\n")
    catalogue = load_catalogue(path, column_map=parse_catalogue_map(
        "item_id=code, title=label,category=kind"))
    assert catalogue.items[["item_id", "item_text", "category"]].values.tolist() == [
        ["k1", "Kettle | kitchen", "kitchen"]]
    with pytest.raises(InputError, match="mapped column not found: title=nope"):
        load_catalogue(path, column_map={"item_id": "code", "title": "nope"})
    with pytest.raises(ConfigError, match="--items-map: bad pair 'colour=kind'"):
        parse_catalogue_map("item_id=code,colour=kind")


def events(rows):
    frame = pd.DataFrame(rows, columns=[USER, EVENT_TYPE, TEXT, ITEM_ID, ITEM_TEXT, TIMESTAMP])
    frame[EVENT_ID] = [f"e{n}" for n in range(len(frame))]
    frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP], utc=True)
    return frame


EVENTS = events([
    ("u1", "liked", "Alien", "m1", "Alien (1979)", "2018-01-02"),
    ("u2", "tagged", "creepy", "m1", "Alien (1979)", "2018-01-05"),
    ("u3", "tagged", "creepy", "m1", "Alien (1979)", "2018-01-06"),
    ("u3", "tagged", "space", "m1", "Alien (1979)", "2018-01-07"),
    ("u2", "rated", "Heat", "m2", "Heat (1995)", "2017-03-01"),
    ("u2", "rated", "Old film", "m9", "Old film (1950)", "2016-03-01"),
])


def test_merge_puts_file_items_first_with_notes_and_event_dates():
    file_items = pd.DataFrame({"item_id": ["m2", "m1", "m7"],
                               "item_text": ["Heat (1995) | Crime", "Alien (1979) | Horror",
                                             "Brand new"],
                               "category": ["Crime", "Horror", ""],
                               "date": pd.to_datetime([None, "1979-05-25", None], utc=True)})
    merged = merge_catalogue(EVENTS, file_items)
    assert list(merged.columns) == list(CATALOGUE_COLUMNS)
    assert merged["item_id"].tolist() == ["m2", "m1", "m7", "m9"]
    assert merged["item_text"].tolist() == ["Heat (1995) | Crime",
                                            "Alien (1979) | Horror | tags: creepy, space",
                                            "Brand new", "Old film (1950)"]
    assert merged["n_events"].tolist() == [1, 4, 0, 1]
    assert merged["category"].tolist() == ["Crime", "Horror", "", ""]
    assert merged["date"].tolist()[:2] == [pd.Timestamp("2017-03-01", tz="UTC"),
                                           pd.Timestamp("1979-05-25", tz="UTC")]
    assert pd.isna(merged["date"].iloc[2])
    assert not merged["is_event_item"].any()


def test_merge_without_a_file_is_the_event_catalogue():
    merged = merge_catalogue(EVENTS, None)
    assert merged["item_id"].tolist() == ["m1", "m2", "m9"]
    assert merged["date"].iloc[0] == pd.Timestamp("2018-01-02", tz="UTC")


CATALOGUE = pd.DataFrame({
    "item_id": ["a", "b", "c", "d"],
    "category": ["Sci-Fi|Horror", "Comedy", "sci-fi", ""],
    "date": pd.to_datetime(["2020-01-01", "2020-06-30 18:00", "2021-01-01", None], utc=True,
                          format="ISO8601")})


@pytest.mark.parametrize(("item_filter", "kept"), [
    (ItemFilter(), "abcd"),
    (ItemFilter(category=" SCI-FI "), "ac"),
    (ItemFilter(since="2020-06-01"), "bc"),
    (ItemFilter(until="2020-06-30"), "ab"),  # a bare date includes the whole day
    (ItemFilter(until="2020-06-30T12:00:00"), "a"),
    (ItemFilter(category="comedy", since="2020-01-01", until="2020-12-31"), "b"),
])
def test_filters_keep_category_and_inclusive_date_range(item_filter, kept):
    mask = item_filter.mask(CATALOGUE)
    assert "".join(CATALOGUE["item_id"][mask]) == kept
    assert item_filter.is_active == (kept != "abcd")


def test_unknown_category_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"--category 'Drama': unknown category \(known: "
                                          r"Sci-Fi, Horror, Comedy, sci-fi\)"):
        ItemFilter(category="Drama").mask(CATALOGUE)
    none = CATALOGUE.assign(category="")
    with pytest.raises(ConfigError, match=r"the items have no categories.*--items FILE"):
        ItemFilter(category="Drama").mask(none)


def test_bad_dates_are_config_errors():
    with pytest.raises(ConfigError, match="--since 'soon': not a date"):
        ItemFilter(since="soon").mask(CATALOGUE)
    with pytest.raises(ConfigError, match="--since 2021-01-01 is after --until 2020-01-01"):
        ItemFilter(since="2021-01-01", until="2020-01-01").mask(CATALOGUE)
    assert date_bound("2020年3月4日", "--since") == pd.Timestamp("2020-03-04", tz="UTC")
    assert np.array_equal(ItemFilter(since=pd.Timestamp("2020-06-01")).mask(CATALOGUE),
                          [False, True, True, False])


def test_texts_are_cleaned_like_event_texts(tmp_path):
    rows = [{"id": "q1", "title": "Pour-over  <b>ratio</b>?",
             "body": "<p>Mail me at a.b@example.com &amp; I reply</p>" + "x" * 2000}]
    text = load_catalogue(write(tmp_path, "q.json", json.dumps(rows))).items["item_text"][0]
    assert text.startswith("Pour-over ratio? | Mail me at [EMAIL] & I reply")
    assert len(text) < 1100 and text.endswith("…")
