"""Planted segment changes found through the real run → update (and replay) path.

Each scenario of ``tools.scenarios`` is run on its first period and updated with its second:
the planted split, merge, birth, death and drift must each come out as that transition between
the right segments, and the control (nothing changes) must give "survived" only. The death
scenario goes through the replay path instead (two windows). All texts are embedded once into
a cache that every scenario's store starts from.
"""

from __future__ import annotations

import shutil
from collections import Counter

import pandas as pd
import pytest

from interestlens import Assistant, Settings
from interestlens.agent.encoder import embed_texts
from interestlens.tools.clean import clean_events
from interestlens.tools.embed import SentenceEmbedder
from interestlens.tools.ingest import load_events
from interestlens.tools.scenarios import SCENARIO_KINDS, generate_scenario
from interestlens.vectorstore import Store

pytestmark = pytest.mark.slow

STRUCTURAL = {"split", "merged", "born", "died", "drifted"}


@pytest.fixture(scope="module")
def scenarios():
    return {kind: generate_scenario(kind) for kind in SCENARIO_KINDS}


@pytest.fixture(scope="module")
def warm_store(tmp_path_factory, scenarios):
    """A store whose embedding cache holds every scenario text, and nothing else."""
    path = tmp_path_factory.mktemp("warm") / "store"
    frames = [f for s in scenarios.values() for f in (s.before, s.after)]
    texts = clean_events(load_events(pd.concat(frames).drop_duplicates()).events).events["text"]
    with Store(path) as store:
        embed_texts(SentenceEmbedder(), texts.tolist(), store, None)
    return path


def evolve(kind, scenarios, warm_store, tmp_path):
    """Run the first period, update with the second; return (before, after users, result)."""
    scenario = scenarios[kind]
    store = tmp_path / "store"
    shutil.copytree(warm_store, store)
    with Assistant(store, settings=Settings(half_life_days=scenario.half_life_days)) as lens:
        run = lens.run(scenario.before)
        update = lens.update(scenario.after)
    assert update.summary.n_embedded == 0 and update.summary.n_new_events > 0
    return segments_of(run.users), segments_of(update.users), update


def segments_of(users):
    """Group prefix ("photo", "mix", ...) -> set of segment ids of its users, and user -> id."""
    groups = users["user"].str.split("-").str[0]
    return users.groupby(groups)["segment"].agg(set).to_dict()


def only(ids):
    (value,) = ids
    return value


def structural(transitions):
    return Counter(t.kind for t in transitions if t.kind in STRUCTURAL)


def test_control_without_change_only_survives(scenarios, warm_store, tmp_path):
    before, after, update = evolve("none", scenarios, warm_store, tmp_path)
    assert {t.kind for t in update.transitions} == {"survived"}
    assert len(update.transitions) == 4 and before == after  # same ids, same groups
    assert not update.summary.is_reclustered


def test_a_group_that_splits_is_a_split_into_two_children(scenarios, warm_store, tmp_path):
    before, after, update = evolve("split", scenarios, warm_store, tmp_path)
    assert structural(update.transitions) == {"split": 1}
    split = next(t for t in update.transitions if t.kind == "split")
    assert split.source_ids == (only(before["mix"]),)
    children = set(split.target_ids)
    assert len(children) == 2 and after["mix"] == children
    assert all(child.startswith(split.source_ids[0] + ".") for child in children)


def test_two_groups_that_merge_are_merged_into_a_fresh_id(scenarios, warm_store, tmp_path):
    before, after, update = evolve("merge", scenarios, warm_store, tmp_path)
    assert structural(update.transitions) == {"merged": 1}
    merged = next(t for t in update.transitions if t.kind == "merged")
    assert set(merged.source_ids) == {only(before["coffee"]), only(before["hiking"])}
    assert after["coffee"] == after["hiking"] == set(merged.target_ids)
    assert merged.target_ids[0] not in set(merged.source_ids)


def test_a_new_group_is_born(scenarios, warm_store, tmp_path):
    before, after, update = evolve("birth", scenarios, warm_store, tmp_path)
    kinds = structural(update.transitions)
    assert set(kinds) == {"born"}  # the new users may come out as one segment or a few
    born = {sid for t in update.transitions if t.kind == "born" for sid in t.target_ids}
    assert born == after["games"]
    assert not born & {sid for ids in before.values() for sid in ids}


def test_a_group_that_falls_silent_dies_in_a_replay(scenarios, warm_store, tmp_path):
    scenario = scenarios["death"]
    store = tmp_path / "store"
    shutil.copytree(warm_store, store)
    history = pd.concat([scenario.before, scenario.after], ignore_index=True)
    with Assistant(store, settings=Settings(half_life_days=scenario.half_life_days)) as lens:
        replay = lens.replay(history, snapshots=2)
    with Store(store) as opened:
        users = segments_of(opened.read_table("users"))
    assert [step.kind for step in replay.steps] == ["run", "update"]
    moves = replay.trends.transitions
    changes = moves[moves["kind"].isin(STRUCTURAL)]
    assert changes["kind"].tolist() == ["died"]
    assert changes["source_ids"].iat[0] == (only(users["games"]),)
    assert replay.trends.sizes[replay.trends.snapshots["snapshot_id"].iat[-1]].loc[
        only(users["games"])] == 0


def test_a_group_that_changes_topic_drifts_and_keeps_its_id(scenarios, warm_store, tmp_path):
    before, after, update = evolve("drift", scenarios, warm_store, tmp_path)
    assert structural(update.transitions) == {"drifted": 1}
    drifted = next(t for t in update.transitions if t.kind == "drifted")
    assert drifted.source_ids == drifted.target_ids == (only(before["photo"]),)
    assert after["photo"] == before["photo"] and drifted.centroid_similarity < 0.9
