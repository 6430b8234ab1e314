import codecs
from pathlib import Path

import pandas as pd
import pytest

from interestlens.tools.connectors import (
    content_event_ids,
    load_movielens,
    load_stackexchange,
    make_events,
)
from interestlens.tools.errors import InputError
from interestlens.tools.ingest import load_events
from interestlens.tools.records import EVENT_COLUMNS

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

POSTS = """<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="1" PostTypeId="1" CreationDate="2014-01-21T20:26:05.383" OwnerUserId="7"
       Title="What is a citra hop?" Tags="&lt;hops&gt;&lt;ipa&gt;"
       Body="&lt;p&gt;Citra?&lt;/p&gt;" />
  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2014-01-21T21:00:00.000" OwnerUserId="8"
       Body="&lt;p&gt;A hop variety.&lt;/p&gt;" />
  <row Id="3" PostTypeId="5" CreationDate="2014-01-22T00:00:00.000" OwnerUserId="-1" Body="wiki" />
  <row Id="4" PostTypeId="1" CreationDate="2014-01-23T00:00:00.000" Title="Orphan question"
       Tags="|stout|" Body="no owner" />
  <row Id="5" PostTypeId="1" CreationDate="2014-01-24T00:00:00.000" OwnerUserId="9"
       Title="Stout or porter?" Tags="|stout|porter|" Body="&lt;p&gt;Which?&lt;/p&gt;" />
</posts>
"""
COMMENTS = """<?xml version="1.0" encoding="utf-8"?>
<comments>
  <row Id="1" PostId="1" Text="Good question." CreationDate="2014-01-21T20:30:00.000" UserId="8" />
  <row Id="2" PostId="2" Text="Thanks!" CreationDate="2014-01-21T21:05:00.000" UserId="7" />
  <row Id="3" PostId="5" Text="Deleted user" CreationDate="2014-01-24T01:00:00.000"
       UserDisplayName="ghost" />
</comments>
"""


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "beer"
    folder.mkdir()
    (folder / "Posts.xml").write_bytes(codecs.BOM_UTF8 + POSTS.encode())
    (folder / "Comments.xml").write_bytes(codecs.BOM_UTF8 + COMMENTS.encode())
    return folder


def test_stackexchange_posts_and_comments(site):
    events, quarantine, n_rows = load_stackexchange(site)
    assert n_rows == 8 == len(events) + len(quarantine)
    assert tuple(events.columns) == EVENT_COLUMNS
    table = events.set_index(["source", "source_row"])
    question = table.loc[("beer/Posts.xml", 0)]
    assert question["event_type"] == "question"
    assert question["text"] == "What is a citra hop?\n<p>Citra?</p>"
    assert (question["user"], question["item_id"]) == ("7", "1")
    assert question["item_text"] == "What is a citra hop? | tags: hops, ipa"
    assert question["timestamp"] == pd.Timestamp("2014-01-21 20:26:05.383", tz="UTC")
    answer = table.loc[("beer/Posts.xml", 1)]
    assert (answer["event_type"], answer["text"], answer["item_id"]) == (
        "answer", "<p>A hop variety.</p>", "1")
    assert answer["item_text"] == question["item_text"]
    assert table.loc[("beer/Posts.xml", 4), "item_text"] == "Stout or porter? | tags: stout, porter"
    on_answer = table.loc[("beer/Comments.xml", 1)]
    assert (on_answer["event_type"], on_answer["user"], on_answer["item_id"]) == (
        "comment", "7", "1")
    assert [(q.source, q.row, q.reason) for q in quarantine] == [
        ("beer/Posts.xml", 2, "post type 5 is not user behaviour"),
        ("beer/Posts.xml", 3, "no user (deleted account)"),
        ("beer/Comments.xml", 2, "no user (deleted account)")]
    assert events["event_id"].is_unique


def test_stackexchange_without_comments_and_via_load_events(site):
    (site / "Comments.xml").unlink()
    result = load_events([site])
    assert result.sources[0].kind == "stackexchange"
    assert result.n_input_rows == 5 == len(result.events) + len(result.quarantine)
    assert set(result.events["event_type"]) == {"question", "answer"}
    assert not result.is_document_mode


def test_stackexchange_malformed_xml_names_line(site):
    (site / "Posts.xml").write_text('<posts>\n  <row Id="1" PostTypeId="1" \n</posts>')
    with pytest.raises(InputError, match=r"Posts\.xml: invalid XML at line 3, column \d+"):
        load_stackexchange(site)


@pytest.fixture
def movielens(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation\r\n"
        '11,"American President, The (1995)",Comedy|Drama\r\n'
        "99,Unknown Film (2000),(no genres listed)\r\n")
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,11,3.0,964982704\r\n"
        "2,1,2.0,964982705\r\n2,11,2.5,964982706\r\n2,99,5.0,964982707\r\n"
        "3,12345,4.0,964982708\r\n3,1,abc,964982709\r\n")
    (folder / "tags.csv").write_text(
        "userId,movieId,tag,timestamp\r\n2,1,pixar,1445714994\r\n3,1,pixar,1445714995\r\n"
        "3,1,fun,1445714996\r\n")
    return folder


def test_movielens_ratings_and_tags(movielens):
    events, quarantine, n_rows = load_movielens(movielens)
    assert n_rows == 10 == len(events) + len(quarantine)  # movies.csv is not counted
    ratings = events[events["source"] == "ml/ratings.csv"]
    assert ratings["event_type"].tolist() == ["liked", "rated", "disliked", "rated", "liked"]
    assert ratings["text"].tolist()[:2] == [
        "Toy Story (1995) (Adventure, Animation)",
        "American President, The (1995) (Comedy, Drama)"]
    assert ratings["text"].iloc[4] == "Unknown Film (2000)"
    assert ratings["item_text"].iloc[0] == (
        "Toy Story (1995) | Adventure, Animation | tags: pixar, fun")
    assert ratings["timestamp"].iloc[0] == pd.Timestamp(964982703, unit="s", tz="UTC")
    tags = events[events["source"] == "ml/tags.csv"]
    assert tags[["event_type", "text", "item_id", "user"]].values.tolist()[0] == [
        "tagged", "pixar", "1", "2"]
    assert [(q.source, q.row, q.reason) for q in quarantine] == [
        ("ml/ratings.csv", 5, "movie 12345 is not in movies.csv"),
        ("ml/ratings.csv", 6, "rating is not a number")]


def test_movielens_via_load_events_and_missing_column(movielens):
    result = load_events([movielens])
    assert result.sources[0].kind == "movielens"
    assert result.n_input_rows == len(result.events) + len(result.quarantine) == 10
    (movielens / "ratings.csv").write_text("userId,movieId,score\n1,1,4\n")
    with pytest.raises(InputError, match=r"ratings\.csv: missing column\(s\) rating, timestamp"):
        load_movielens(movielens)


def test_content_event_ids_hash_content_and_number_repeats():
    frame = make_events("a.csv", [0, 1, 2], user=["u", "u", "v"], timestamp=[None] * 3,
                        event_type="event", text=["same", "same", "same"])
    ids = content_event_ids(frame)
    assert ids.is_unique
    moved = make_events("elsewhere.csv", [5], user=["u"], timestamp=[None], event_type="event",
                        text=["same"])
    assert content_event_ids(moved).iloc[0] == ids.iloc[0]


# ---- real data ---------------------------------------------------------------------------------


def shared_folder(*parts: str) -> Path:
    folder = SHARED.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip("../shared/data is absent")
    return folder


@pytest.mark.shared_data
def test_beer_dump_counts_match_readme():
    events, quarantine, n_rows = load_stackexchange(
        shared_folder("stackexchange_small_sites", "beer"))
    assert n_rows == 3_471 + 3_509 == len(events) + len(quarantine)
    counts = events["event_type"].value_counts()
    assert abs(counts["question"] - 1_029) <= 10  # a few questions have no owner
    assert abs(counts["answer"] - 2_277) <= 25
    assert abs(counts["comment"] - 3_509) <= 55  # 50 comments by deleted accounts
    assert events["item_text"].notna().mean() > 0.99
    assert events["timestamp"].min() >= pd.Timestamp("2014-01-21", tz="UTC")


@pytest.mark.shared_data
def test_movielens_small_counts_match_readme():
    events, quarantine, n_rows = load_movielens(shared_folder("movielens_latest_small"))
    assert n_rows == 100_836 + 3_683 == len(events) + len(quarantine)
    counts = events["event_type"].value_counts()
    assert counts["liked"] == 26_818 + 8_551 + 13_211
    assert counts["disliked"] == 1_370 + 2_811 + 1_791 + 7_551
    assert counts["tagged"] == 3_683
    assert events["user"].nunique() == 610
