import codecs
import json
import logging
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from interestlens.tools.errors import ConfigError, InputError
from interestlens.tools.ingest import ROLES, load_events, parse_column_map
from interestlens.tools.records import EVENT_COLUMNS

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def check_invariant(result):
    assert result.n_input_rows == len(result.events) + len(result.quarantine)
    assert result.n_input_rows == sum(s.n_rows for s in result.sources)
    assert tuple(result.events.columns) == EVENT_COLUMNS
    assert str(result.events["timestamp"].dt.tz) == "UTC"


# ---- whole-file errors -------------------------------------------------------------------------

BAD_FILES = [
    ("empty.csv", b"", r"empty\.csv: empty file$"),
    ("blank.csv", b"\n  \n", r"blank\.csv: empty file$"),
    ("header.csv", "user,text\n", r"header\.csv: no data rows$"),
    ("notext.csv", "user,score\nu1,3\nu2,4\n",
     r"notext\.csv: no text column found \(columns: user, score\); use --map text=COLUMN$"),
    ("short.csv", "user,tag\nu1,ab\nu2,cd\n", r"short\.csv: no text column found"),
    ("image.csv", PNG, r"image\.csv: binary file, not text$"),
    ("colon.csv", "user:review\nu1:a long enough review text here\n",
     r"colon\.csv: no text column found \(columns: user:review\); a single column: "
     r"is the delimiter wrong\?; use --map text=COLUMN$"),
    ("mixed.csv", "user,text\nu1,中文评论很好，物流也快，价格实惠，推荐购买\n".encode()
     + b"u2,\xff\xfe broken\n", r"mixed\.csv: undecodable byte 0xff at offset 80 \(line 3\)"),
    ("noise.csv", b"user,text\nu1," + bytes(range(128, 256)) * 3 + b"\n",
     r"noise\.csv: undecodable byte 0x80 at offset 13 \(line 2\)"),
    ("data.xyz", "user,text\nu1,hello\n",
     r"data\.xyz: unsupported file type '\.xyz' \(expected csv, tsv, json, jsonl, parquet or a "
     r"Stack Exchange/MovieLens folder\)$"),
    ("bad.json", '[{"text": "a"},\n {"text": }]',
     r"bad\.json: invalid JSON at line 2, column 11: "),
    ("scalar.json", '"just a string"',
     r"scalar\.json: expected an array of objects, got a JSON str"),
    ("twoarrays.json", '{"a": [{"text": "x"}], "b": [{"text": "y"}]}',
     r"twoarrays\.json: expected an array of objects, or an object holding exactly one "),
    ("allbad.jsonl", '{"text": \n{oops}\n', r"allbad\.jsonl, row 0: no data rows \(malformed JSON"),
    ("emptyarray.json", "[]", r"emptyarray\.json: no data rows$"),
    ("headquote.csv", 'user,"text\nu1,hello\n', r"headquote\.csv: unclosed quote in the header"),
    ("broken.parquet", b"PAR1 not really parquet", r"broken\.parquet: not a readable Parquet file"),
]


@pytest.mark.parametrize(("name", "content", "pattern"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_raises_one_line_input_error(tmp_path, name, content, pattern):
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as caught:
        load_events([path])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert re.search(pattern, message), message


def test_missing_path_and_unknown_folder_raise(tmp_path):
    with pytest.raises(InputError, match=r"nope\.csv: no such file or folder"):
        load_events([tmp_path / "nope.csv"])
    (tmp_path / "stuff").mkdir()
    with pytest.raises(InputError, match=r"stuff: folder is neither a Stack Exchange dump"):
        load_events([tmp_path / "stuff"])


def test_no_input_is_a_config_error():
    with pytest.raises(ConfigError):
        load_events([])


# ---- quarantined rows --------------------------------------------------------------------------

BAD_ROWS = [
    ("empty_tokens.csv",
     "user,text\nu0,real text\nu1,\nu2,N/A\nu3,NULL\nu4,   \nu5,null\nu6,None\nu7,nan\nu8,-\n"
     "u9,NA\n", {i: "empty text" for i in range(1, 10)}),
    ("numbers.csv", "user,text\nu0,12345\nu1,3.5\nu2,real text\nu3,-2e5\n",
     {0: "text is a number, not text", 1: "text is a number, not text",
      3: "text is a number, not text"}),
    ("values.json", json.dumps([
        {"user": "a", "text": 5}, {"user": "b", "text": None}, {"user": "c", "text": ["x"]},
        {"user": "d", "text": {"k": 1}}, {"user": ["e"], "text": "fine"},
        {"user": "f", "text": "kept"}, {"user": "g"}, {"user": {"id": 1}, "text": "fine"},
        {"user": "h", "text": 2.5}, {"user": None, "text": "no user"}]),
     {0: "text is a number, not text", 1: "empty text",
      2: "text is a list/object, not a string", 3: "text is a list/object, not a string",
      4: "user is a list/object", 6: "empty text", 7: "user is a list/object",
      8: "text is a number, not text", 9: "empty user"}),
    ("nested.jsonl", '{"user": "a", "text": "ok", "item_id": {"sku": 1}}\n'
                     '{"user": "b", "text": "ok", "item_id": "s1"}\n'
                     '[1, 2]\n',
     {0: "item_id is a list/object", 2: "not a JSON object (got list)"}),
    ("lines.jsonl", '{"user": "a", "text": "first"}\n{"user": "b", "text": "broken"\n'
                    '{"user": "c", "text": "third"}\n',
     {1: "malformed JSON: Expecting ',' delimiter"}),
    ("blank_lines.jsonl", '{"user": "a", "text": "first"}\n\n  \n{"user": "b", "text": "x"\n'
                          '{"user": "c", "text": "third"}\n',
     {3: "malformed JSON: Expecting ',' delimiter"}),  # row N is line N + 1, blank lines count
    ("dates.csv", "user,text,time\nu0,a,2023-05-01\nu1,b,not a date\nu2,c,\nu3,d,2023\n",
     {1: "timestamp 'not a date' is not a date"}),  # empty and bare numbers stay NaT
    ("far_dates.csv",
     "user,text,time\nu0,a,9999-12-31T23:59:59\nu1,b,1600-01-01\nu2,c,2261-06-01\n",
     {0: "timestamp '9999-12-31T23:59:59' is outside the years 1678-2261",
      1: "timestamp '1600-01-01' is outside the years 1678-2261"}),
    ("quote.csv", 'user,text\nu0,"hello there\nu1,fine text here\nu2,"quoted, yes"\n',
     {0: "unclosed quote"}),
    ("quote_end.csv", 'user,text\nu0,fine text\nu1,"never closed\n', {1: "unclosed quote"}),
    ("fields.csv", "user,text\nu0,a,b\nu1,fine text\n",
     {0: "3 fields, expected 2 (unquoted delimiter?)"}),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_bad_rows_are_quarantined_with_reason_and_row(tmp_path, name, content, expected):
    result = load_events([write(tmp_path, name, content)])
    assert {q.row: q.reason for q in result.quarantine} == expected
    assert all(q.source == name and len(q.raw) <= 200 for q in result.quarantine)
    assert not set(result.events["source_row"]) & set(expected)
    check_invariant(result)


def test_unclosed_quote_keeps_the_rows_it_swallowed(tmp_path):
    path = write(tmp_path, "q.csv", 'user,text\nu0,"hello there\nu1,fine text\nu2,"a, b"\n')
    events = load_events([path]).events
    assert events["user"].tolist() == ["u1", "u2"]
    assert events["text"].tolist() == ["fine text", "a, b"]


def test_multiline_quoted_field_and_doubled_quotes_survive(tmp_path):
    path = write(tmp_path, "m.csv", 'user,text\nu0,"line one\nline ""two"", end"\nu1,plain\n')
    result = load_events([path])
    assert result.events["text"].tolist() == ['line one\nline "two", end', "plain"]
    assert result.events["source_row"].tolist() == [0, 1]


def test_megabyte_field_is_read_then_quarantined_as_too_long(tmp_path):
    big = "x" * 1_000_001
    path = write(tmp_path, "big.csv", f"user,text\nu0,short text\nu1,\"{big}\"\nu2,after\n")
    result = load_events([path])
    assert [(q.row, q.reason) for q in result.quarantine] == [
        (1, "text longer than 100000 characters")]
    assert len(result.quarantine[0].raw) <= 200
    assert result.events["user"].tolist() == ["u0", "u2"]
    kept = load_events([path], max_text_chars=2_000_000).events
    assert kept["text"].str.len().max() == 1_000_001


# ---- encodings ---------------------------------------------------------------------------------

CHINESE = "用户,评论\nu1,这个商品质量很好，物流也快\nu2,价格实惠\n"


def test_gb18030_file_decodes(tmp_path):
    result = load_events([write(tmp_path, "gb.csv", CHINESE.encode("gb18030"))])
    assert result.sources[0].encoding == "gb18030"
    assert result.events["text"].tolist() == ["这个商品质量很好，物流也快", "价格实惠"]
    assert result.sources[0].roles.user == "用户"


def test_bytes_valid_in_utf8_and_gb18030_decode_as_utf8(tmp_path):
    data = "user,text\nu1,中文内容很好\n".encode()
    assert data.decode("gb18030") != data.decode("utf-8")  # valid, different text in both
    result = load_events([write(tmp_path, "both.csv", data)])
    assert result.sources[0].encoding == "utf-8"
    assert result.events["text"].tolist() == ["中文内容很好"]


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF8 + CHINESE.encode(), CHINESE.encode("utf-16"),
    codecs.BOM_UTF16_BE + CHINESE.encode("utf-16-be"),
    codecs.BOM_UTF16_LE + CHINESE.encode("utf-16-le"), CHINESE.encode("utf-32")],
    ids=["utf8-bom", "utf16", "utf16-be", "utf16-le", "utf32"])
def test_bom_files_decode_and_first_header_is_clean(tmp_path, data):
    result = load_events([write(tmp_path, "bom.csv", data)])
    assert result.sources[0].roles.user == "用户"
    assert result.events["user"].tolist() == ["u1", "u2"]
    assert result.events["text"].iloc[1] == "价格实惠"


def test_bom_inside_a_text_cell_is_removed(tmp_path):
    path = write(tmp_path, "cell.csv", "cat,review\n书籍,\ufeff做父母一定要有耐心\n书籍,好书\n")
    assert load_events([path]).events["text"].iloc[0] == "做父母一定要有耐心"


def test_latin1_file_falls_back_to_charset_detection(tmp_path):
    text = "user,text\nu1,café crème brûlée était très bonne\nu2,à bientôt là-bas\n"
    result = load_events([write(tmp_path, "latin.csv", text.encode("latin-1"))])
    assert result.sources[0].encoding not in ("utf-8", "gb18030")
    assert "caf" in result.events["text"].iloc[0]


# ---- delimiters, formats, roles ----------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    rows = ["user", "text"], ["u1", "hello, world; a|b"], ["u2", "second"]
    content = "\n".join(delimiter.join(f'"{v}"' if delimiter in v or "," in v else v
                                       for v in row) for row in rows) + "\n"
    events = load_events([write(tmp_path, "d.txt", content)]).events
    assert events["text"].tolist() == ["hello, world; a|b", "second"]


def test_english_headers_are_detected(tmp_path):
    header = "Review_ID,UserID,Review Text,Created-At,Action,Product_ID,Product Name,Stars"
    path = write(tmp_path, "en.csv", f"{header}\nr1,u1,Great phone,2023-05-01,BUY,p1,Phone X,5\n")
    roles = load_events([path]).sources[0].roles
    assert roles.model_dump() == {
        "user": "UserID", "text": "Review Text", "timestamp": "Created-At", "event_type": "Action",
        "item_id": "Product_ID", "item_text": "Product Name", "row_id": "Review_ID"}


def test_chinese_headers_are_detected(tmp_path):
    header = "编号,用户ID,评论,发布时间,行为,商品id,商品名称"
    path = write(tmp_path, "zh.csv", f"{header}\n1,u1,很好用,2023年5月1日 10:00,购买,s1,手机\n")
    result = load_events([path])
    assert result.sources[0].roles.model_dump() == {
        "user": "用户ID", "text": "评论", "timestamp": "发布时间", "event_type": "行为",
        "item_id": "商品id", "item_text": "商品名称", "row_id": "编号"}
    row = result.events.iloc[0]
    assert (row["user"], row["item_id"], row["item_text"], row["event_type"]) == (
        "u1", "s1", "手机", "购买")
    assert row["timestamp"] == pd.Timestamp("2023-05-01 10:00", tz="UTC")


def test_column_map_overrides_detection(tmp_path):
    path = write(tmp_path, "m.csv", "who,words,comment\nu1,mapped text,auto text\n")
    result = load_events([path], column_map={"text": "words", "user": "who"})
    assert result.sources[0].roles.text == "words"
    assert result.events[["user", "text"]].values.tolist() == [["u1", "mapped text"]]
    with pytest.raises(InputError, match=r"m\.csv: mapped column not found: text=nope "
                                         r"\(columns: who, words, comment\)"):
        load_events([path], column_map={"text": "nope"})
    with pytest.raises(ConfigError, match="unknown role"):
        load_events([path], column_map={"colour": "words"})


def test_parse_column_map_accepts_aliases():
    assert parse_column_map("text=review, user=uid,time=ts,type=kind,item=sku,id=rid") == {
        "text": "review", "user": "uid", "timestamp": "ts", "event_type": "kind",
        "item_id": "sku", "row_id": "rid"}
    assert parse_column_map(None) == {} and parse_column_map("") == {}
    assert set(parse_column_map("item_text=t")) <= set(ROLES)


@pytest.mark.parametrize("spec", ["text", "=review", "text=", "colour=red", "text=a,text=b"])
def test_parse_column_map_rejects_bad_specs(spec):
    with pytest.raises(ConfigError) as caught:
        parse_column_map(spec)
    assert "\n" not in str(caught.value)


def test_text_column_is_guessed_by_length_and_logged(tmp_path, caplog):
    path = write(tmp_path, "g.csv", "code,note,score\nA1,this note is long enough,3\n"
                                    "B2,another fairly long note,4\n")
    with caplog.at_level(logging.INFO, logger="interestlens.tools.ingest"):
        result = load_events([path])
    assert result.sources[0].roles.text == "note"
    assert "no text column by name; using 'note'" in caplog.text


def test_timestamps_event_types_and_items_are_normalised(tmp_path):
    records = [
        {"user": 7, "text": "a", "time": "2023-05-01T12:00:00+02:00", "type": "Click"},
        {"user": 7.0, "text": "b", "time": "2023年5月1日 10:00", "item_id": 12},
        {"user": "x", "text": "c", "time": "2023/05/01"},
        {"user": "x", "text": "d", "time": 1682935200},
        {"user": "x", "text": "e", "time": "1682935200000"},
        {"user": "x", "text": "f", "time": "not a date", "type": None},
        {"user": "x", "text": "g", "time": 2023},
    ]
    result = load_events([write(tmp_path, "t.json", json.dumps({"data": records}))])
    events = result.events
    ten = pd.Timestamp("2023-05-01 10:00", tz="UTC")
    assert events["timestamp"].tolist()[:5] == [ten, ten, ten - pd.Timedelta(hours=10), ten, ten]
    assert events["text"].tolist()[5:] == ["g"] and events["timestamp"].iloc[5:].isna().all()
    assert [(q.row, q.reason) for q in result.quarantine] == [
        (5, "timestamp 'not a date' is not a date")]
    assert events["event_type"].tolist() == ["click"] + ["event"] * 5
    assert events["user"].tolist()[:2] == ["7", "7"]
    assert events["item_id"].tolist()[:2] == [None, "12"]


def test_unparseable_timestamps_are_counted_in_one_warning(tmp_path, caplog):
    path = write(tmp_path, "when.csv", "user,text,time\nu0,a,someday\nu1,b,2023-13-45\n"
                                       "u2,c,2023-05-01\n")
    with caplog.at_level(logging.WARNING, logger="interestlens.tools.ingest"):
        result = load_events([path])
    assert result.events["user"].tolist() == ["u2"]
    assert [q.row for q in result.quarantine] == [0, 1]
    assert [r.getMessage() for r in caplog.records] == [
        "when.csv: timestamp is not a usable date in 2 rows; quarantined"]
    check_invariant(result)


def test_repeated_column_name_is_a_warning_naming_the_copy(tmp_path, caplog):
    path = write(tmp_path, "dup.csv", "user,text,text\nu0,first column,second column\n")
    with caplog.at_level(logging.WARNING, logger="interestlens.tools.connectors"):
        events = load_events([path]).events
    assert events["text"].tolist() == ["first column"]
    assert [r.getMessage() for r in caplog.records] == [
        "dup.csv: repeated column name 'text' (copy read as 'text.1'); the first is used, "
        "--map ROLE=COLUMN picks another"]
    mapped = load_events([path], column_map={"text": "text.1"}).events
    assert mapped["text"].tolist() == ["second column"]


# ---- sources and document mode -----------------------------------------------------------------


def test_document_mode_uses_row_id_column(tmp_path):
    result = load_events([write(tmp_path, "d.csv", "id,text\nr1,first text\nr2,second text\n")])
    assert result.is_document_mode
    assert result.events["user"].tolist() == ["r1", "r2"]


def test_document_mode_falls_back_to_row_number(tmp_path):
    path = write(tmp_path, "d.csv", "text\nfirst text\n\nsecond text\n")
    result = load_events([path])
    assert result.is_document_mode
    assert result.events["user"].tolist() == ["0", "1"]


def test_document_mode_prefixes_source_with_several_sources(tmp_path):
    a = write(tmp_path, "a.csv", "text\nfirst text\n")
    b = write(tmp_path, "b.jsonl", '{"id": "x9", "text": "other"}\n')
    result = load_events([a, b])
    assert result.is_document_mode
    assert result.events["user"].tolist() == ["a.csv:0", "b.jsonl:x9"]


def test_mixed_sources_give_userless_rows_a_source_row_id(tmp_path):
    a = write(tmp_path, "a.csv", "user,text\nu1,first text\n")
    b = write(tmp_path, "b.csv", "text\nno user here\n")
    result = load_events([a, b])
    assert not result.is_document_mode
    assert result.events["user"].tolist() == ["u1", "b.csv:0"]


def test_several_sources_are_unified(tmp_path):
    frame = pd.DataFrame({"user": ["p1", "p2"], "text": ["parquet one", "parquet two"]})
    frame.to_parquet(tmp_path / "p.parquet")
    paths = [write(tmp_path, "c.csv", "user,text\nc1,csv one\nc2,\n"),
             write(tmp_path, "t.tsv", "user\ttext\nt1\ttsv one\n"),
             write(tmp_path, "j.json", json.dumps([{"user": "j1", "text": "json one"}])),
             write(tmp_path, "l.ndjson", '{"user": "l1", "text": "jsonl one"}\n'),
             tmp_path / "p.parquet"]
    progress = []
    result = load_events(paths, progress=lambda *args: progress.append(args))
    check_invariant(result)
    assert progress[-1] == ("ingest", 5, 5)
    assert [s.kind for s in result.sources] == ["csv", "tsv", "json", "jsonl", "parquet"]
    assert result.events.groupby("source")["source_row"].max().to_dict() == {
        "c.csv": 0, "t.tsv": 0, "j.json": 0, "l.ndjson": 0, "p.parquet": 1}
    assert result.events["user"].tolist() == ["c1", "t1", "j1", "l1", "p1", "p2"]
    assert result.events["event_id"].is_unique


def test_dataframe_input_is_not_mutated():
    frame = pd.DataFrame({"uid": [1, 2], "content": ["hello there", " "],
                          "date": [pd.Timestamp("2023-05-01 10:00"), pd.Timestamp("2023-05-02")]},
                         index=[10, 11])
    before = frame.copy()
    result = load_events(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert result.sources[0].source == "dataframe"
    assert result.events[["user", "source_row"]].values.tolist() == [["1", 0]]
    assert result.events["timestamp"].tolist() == [pd.Timestamp("2023-05-01 10:00", tz="UTC")]
    assert [(q.row, q.reason) for q in result.quarantine] == [(1, "empty text")]


def test_jsonl_keeps_unicode_line_separators_inside_strings(tmp_path):
    path = write(tmp_path, "u.jsonl", '{"user": "a", "text": "one\u2028two"}\r\n'
                                      '{"user": "b", "text": "three"}\r\n')
    result = load_events((p for p in [path]))
    assert result.events["text"].tolist() == ["one\u2028two", "three"]


def test_event_ids_are_stable_and_path_independent(tmp_path):
    content = "user,text,time\nu1,same text,2023-05-01\nu1,same text,2023-05-01\nu2,other,\n"
    first = load_events([write(tmp_path, "a.csv", content)]).events["event_id"]
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "a.csv", tmp_path / "copy" / "renamed.csv")
    second = load_events([tmp_path / "copy" / "renamed.csv"]).events["event_id"]
    assert first.tolist() == second.tolist()
    assert first.is_unique  # identical rows still get distinct ids
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in first)


# ---- real data ---------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_online_shopping_reviews_load():
    path = SHARED / "online_shopping_10_cats.csv"
    if not path.is_file():
        pytest.skip("../shared/data is absent")
    result = load_events([path])
    check_invariant(result)
    assert result.n_input_rows == 62_774
    assert result.sources[0].roles.text == "review"
    assert result.is_document_mode
    assert result.events["text"].iloc[0].startswith("做父母一定要有刘墉")
    assert {q.reason for q in result.quarantine} <= {"empty text", "text is a number, not text"}


def test_a_document_id_column_with_repeats_is_a_warning(tmp_path, caplog):
    path = write(tmp_path, "docs.csv", "label,review\n1,good tent\n1,bad stove\n2,fine map\n")
    with caplog.at_level(logging.WARNING, logger="interestlens.tools.ingest"):
        result = load_events([path], column_map={"id": "label"})
    assert result.is_document_mode and result.events["user"].tolist() == ["1", "1", "2"]
    assert [r.getMessage() for r in caplog.records] == [
        "docs.csv: id column 'label' repeats values (2 distinct ids for 3 rows); rows with the "
        "same id are one user"]
