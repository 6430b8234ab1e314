"""Segment evolution: planted splits, merges, births, deaths, drifts and growth are found, and
nothing else is, on controlled vectors and end to end through the clusterer and segmenter."""

import csv
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sklearn.base import clone

from interestlens.tools.cluster import DensityClusterer
from interestlens.tools.evolve import (
    TRANSITION_KINDS,
    SegmentSnapshot,
    SegmentTracker,
    Transition,
    fresh_ids,
    rename_segments,
    sankey_mermaid,
    snapshot_from_labels,
)
from interestlens.tools.segment import ProfileSegmenter

DIM = 20
DIRS = np.linalg.qr(np.random.default_rng(42).normal(size=(DIM, DIM)))[0].T  # orthonormal rows
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOISE = 0.1  # per dimension: members have cosine ~0.9 to their group's direction


def unit(v):
    return v / np.linalg.norm(v)


def users(group, n, start=0):
    return [f"g{group}u{i:03d}" for i in range(start, start + n)]


def base_parts():
    """Five groups of 60 users; group g gets label g, i.e. segment id S{g+1}."""
    return [(g, users(g, 60), DIRS[g], NOISE) for g in range(5)]


def build(name, parts, *, seed=0, day=0, shuffle=False, relabel=None, drop=()):
    """Snapshot of ``parts`` = [(label, user_ids, centre, noise)]; same seed, same noise draws."""
    rng = np.random.default_rng(seed)
    ids, labels, vectors = [], [], []
    for label, members, centre, noise in parts:
        ids += members
        labels += [label] * len(members)
        vectors.append(centre + noise * rng.standard_normal((len(members), DIM)))
    ids, labels, vectors = np.array(ids), np.array(labels), np.vstack(vectors)
    keep = ~np.isin(ids, list(drop))
    order = np.flatnonzero(keep)
    if shuffle:
        order = np.random.default_rng(seed + 1).permutation(order)
    if relabel is not None:
        labels = np.array([relabel[label] for label in labels])
    return snapshot_from_labels(name, T0 + timedelta(days=day), ids[order], labels[order],
                                vectors[order])


def replace(parts, which, **changes):
    """Return ``parts`` with the part labelled ``which`` changed (label, members, centre, noise)."""
    fields = ("label", "members", "centre", "noise")
    out = []
    for part in parts:
        if part[0] == which:
            part = tuple(changes.get(key, value) for key, value in zip(fields, part))
        out.append(part)
    return out


def kinds(transitions):
    return Counter(t.kind for t in transitions)


def changes(transitions):
    """The transitions other than "survived"."""
    return [t for t in transitions if t.kind != "survived"]


@pytest.fixture(scope="module")
def before():
    return build("t0", base_parts())


def test_snapshot_holds_members_unit_centroids_and_spreads(before):
    assert before.segment_ids == ("S1", "S2", "S3", "S4", "S5")
    assert before.members["S3"] == frozenset(users(2, 60))
    assert np.allclose(np.linalg.norm(before.centroids, axis=1), 1.0)
    assert np.all(np.diag(before.centroids @ DIRS[:5].T) > 0.99)
    assert np.all((before.spreads > 0.03) & (before.spreads < 0.2))
    assert before.taken_at.tzinfo is not None and before.size("S1") == 60
    with pytest.raises(ValueError):
        before.centroids[0, 0] = 1.0  # read-only


def test_no_change_with_reshuffled_rows_and_new_label_numbers_only_survives(before):
    relabel = {0: "b", 1: "e", 2: "a", 3: "d", 4: "c"}
    after = build("t1", base_parts(), day=7, shuffle=True, relabel=relabel)
    tracker = SegmentTracker()
    mapping, transitions = tracker.match(before, after)
    assert mapping == {"b": "S1", "e": "S2", "a": "S3", "d": "S4", "c": "S5"}
    assert kinds(transitions) == {"survived": 5} and not changes(transitions)
    assert all(t.overlap == 1.0 and t.centroid_similarity > 0.999 for t in transitions)
    assert tracker.renamed_.segment_ids == before.segment_ids
    assert tracker.renamed_.members == before.members


def test_an_update_with_no_new_data_changes_nothing(before):
    tracker = SegmentTracker()
    mapping, transitions = tracker.match(before, before)
    assert mapping == {sid: sid for sid in before.segment_ids}
    assert [t.kind for t in transitions] == ["survived"] * 5
    assert np.array_equal(tracker.renamed_.centroids, before.centroids)
    assert tracker.seen_ids_ == frozenset(before.segment_ids)


def test_fresh_noise_on_the_same_groups_is_no_change(before):
    transitions = SegmentTracker().match(before, build("t1", base_parts(), seed=5))[1]
    assert kinds(transitions) == {"survived": 5}


def test_a_split_names_the_children_after_the_parent(before):
    offset = 0.6 * DIRS[10]
    parts = replace(base_parts(), 1, members=users(1, 35), centre=unit(DIRS[1] + offset))
    parts.append((7, users(1, 25, start=35), unit(DIRS[1] - offset), NOISE))
    tracker = SegmentTracker()
    mapping, transitions = tracker.match(before, build("t1", parts))
    [split] = changes(transitions)
    assert split.kind == "split" and split.source_ids == ("S2",)
    assert split.target_ids == ("S2.1", "S2.2")
    assert split.overlap == pytest.approx(1.0)
    assert mapping["S2"] == "S2.1" and mapping["S8"] == "S2.2"
    assert tracker.renamed_.members["S2.1"] == frozenset(users(1, 35))  # the larger part is .1
    assert kinds(transitions) == {"survived": 4, "split": 1}


def test_two_groups_merge_into_a_fresh_id(before):
    merged = unit(DIRS[0] + DIRS[2])
    parts = replace(replace(base_parts(), 0, centre=merged), 2, label=0, centre=merged)
    mapping, transitions = SegmentTracker().match(before, build("t1", parts))
    [merge] = changes(transitions)
    assert merge.kind == "merged" and merge.source_ids == ("S1", "S3")
    assert merge.target_ids == ("S6",) and mapping["S1"] == "S6"
    assert merge.overlap == 1.0 and merge.centroid_similarity > 0.99
    assert sorted(t.source_ids[0] for t in transitions if t.kind == "survived") == [
        "S2", "S4", "S5"]


def test_a_new_group_is_born_with_a_fresh_id(before):
    parts = [*base_parts(), (5, users(5, 50), DIRS[5], NOISE)]
    _, transitions = SegmentTracker().match(before, build("t1", parts))
    [born] = changes(transitions)
    assert born.kind == "born" and born.source_ids == () and born.target_ids == ("S6",)
    assert born.overlap == 0.0 and "50 new users" in born.detail
    assert kinds(transitions)["survived"] == 5


def test_a_group_whose_users_leave_dies(before):
    after = build("t1", base_parts(), drop=users(4, 60))
    _, transitions = SegmentTracker().match(before, after)
    [died] = changes(transitions)
    assert died.kind == "died" and died.source_ids == ("S5",) and died.target_ids == ()
    assert kinds(transitions) == {"survived": 4, "died": 1}


def test_a_group_scattered_over_the_others_dies_and_does_not_split(before):
    parts = base_parts()[:4] + [(g, users(4, 15, start=15 * g), DIRS[g], NOISE) for g in range(4)]
    _, transitions = SegmentTracker().match(before, build("t1", parts))
    died = [t for t in transitions if t.kind not in ("survived", "grew", "less_compact")]
    assert [(t.kind, t.source_ids) for t in died] == [("died", ("S5",))]
    assert died[0].overlap == 0.25


def test_empty_snapshots_give_births_and_deaths(before):
    empty = snapshot_from_labels("t", T0, [], [], np.zeros((0, DIM)))
    mapping, transitions = SegmentTracker().match(empty, before)
    assert kinds(transitions) == {"born": 5} and sorted(mapping.values()) == list(
        before.segment_ids)
    _, transitions = SegmentTracker().match(before, empty)
    assert [t.source_ids for t in transitions] == [(sid,) for sid in before.segment_ids]
    assert kinds(transitions) == {"died": 5}


def test_a_moved_centroid_is_drift_and_nothing_else(before):
    parts = replace(base_parts(), 3, centre=unit(DIRS[3] + DIRS[11]))  # cosine 0.71
    _, transitions = SegmentTracker().match(before, build("t1", parts))
    [drift] = changes(transitions)
    assert drift.kind == "drifted" and drift.source_ids == drift.target_ids == ("S4",)
    assert 0.6 < drift.centroid_similarity < 0.8 and drift.overlap == 1.0
    assert kinds(transitions) == {"survived": 5, "drifted": 1}


def test_growth_by_half_is_grew_and_losing_half_is_shrank(before):
    grown = [*base_parts(), (0, users(0, 30, start=60), DIRS[0], NOISE)]
    _, transitions = SegmentTracker().match(before, build("t1", grown))
    [grew] = changes(transitions)
    assert (grew.kind, grew.source_ids, grew.target_ids) == ("grew", ("S1",), ("S1",))
    assert "60 -> 90" in grew.detail
    _, transitions = SegmentTracker().match(before, build("t1", base_parts(), drop=users(0, 30)))
    assert [(t.kind, t.source_ids) for t in changes(transitions)] == [("shrank", ("S1",))]


@pytest.mark.parametrize(("noise", "kind"), [(0.25, "less_compact"), (0.04, "more_compact")])
def test_a_change_of_spread_is_a_compactness_transition(before, noise, kind):
    parts = replace(base_parts(), 2, noise=noise)
    _, transitions = SegmentTracker().match(before, build("t1", parts))
    assert [(t.kind, t.source_ids) for t in changes(transitions)] == [(kind, ("S3",))]


def test_all_new_users_are_matched_by_centroid(before):
    renamed = [(g, [f"new-{u}" for u in members], centre, noise)
               for g, members, centre, noise in base_parts()]
    after = build("t1", renamed, seed=3, relabel={0: 4, 1: 3, 2: 2, 3: 1, 4: 0})
    mapping, transitions = SegmentTracker().match(before, after)
    assert kinds(transitions) == {"survived": 5}
    assert mapping == {"S5": "S1", "S4": "S2", "S3": "S3", "S2": "S4", "S1": "S5"}
    assert all("matched by centroid" in t.detail for t in transitions)
    moved = replace(renamed, 3, centre=unit(DIRS[3] + DIRS[11]))
    _, transitions = SegmentTracker().match(before, build("t1", moved, seed=3))
    assert kinds(changes(transitions)) == {"died": 1, "born": 1}  # no members to tell it moved


def test_fresh_ids_never_reuse_an_old_id(before):
    died = build("t1", base_parts(), drop=users(4, 60), day=7)
    reborn = build("t2", [*base_parts()[:4], (9, users(5, 40), DIRS[5], NOISE)], day=14)
    tracker = SegmentTracker()
    history = tracker.track([before, died, reborn])
    assert [[t.kind for t in changes(step)] for step in history] == [["died"], ["born"]]
    assert history[1][-1].target_ids == ("S6",)  # S5 died at t1 and stays retired
    assert [s.segment_ids for s in tracker.snapshots_] == [
        ("S1", "S2", "S3", "S4", "S5"), ("S1", "S2", "S3", "S4"), ("S1", "S2", "S3", "S4", "S6")]
    _, transitions = SegmentTracker().match(died, reborn, known_ids=["S9", "S2.7"])
    assert changes(transitions)[0].target_ids == ("S10",)


def test_split_children_skip_ids_already_taken(before):
    parts = replace(base_parts(), 1, members=users(1, 35), centre=unit(DIRS[1] + 0.6 * DIRS[10]))
    parts.append((7, users(1, 25, start=35), unit(DIRS[1] - 0.6 * DIRS[10]), NOISE))
    _, transitions = SegmentTracker().match(before, build("t1", parts), known_ids=["S2.1"])
    assert changes(transitions)[0].target_ids == ("S2.2", "S2.3")


def test_thresholds_decide_between_split_and_death(before):
    parts = replace(base_parts(), 1, members=users(1, 30), centre=unit(DIRS[1] + DIRS[10]))
    parts.append((7, users(1, 30, start=30), unit(DIRS[1] - DIRS[10]), NOISE))
    after = build("t1", parts)
    assert kinds(changes(SegmentTracker().match(before, after)[1])) == {"split": 1}
    strict = SegmentTracker(split_threshold=0.55)
    assert kinds(changes(strict.match(before, after)[1])) == {"died": 1, "born": 2}
    loose = SegmentTracker(survival_threshold=0.5)
    [survived] = [t for t in loose.match(before, after)[1] if t.source_ids == ("S2",)
                  and t.kind == "survived"]
    assert survived.overlap == 0.5


def test_an_even_split_names_children_by_members_not_by_labels(before):
    def halves(labels):
        parts = replace(base_parts(), 1, label=labels[0], members=users(1, 30),
                        centre=unit(DIRS[1] + DIRS[10]))
        return [*parts, (labels[1], users(1, 30, start=30), unit(DIRS[1] - DIRS[10]), NOISE)]

    first, second = (SegmentTracker().match(before, build("t1", halves(order)))
                     for order in ((1, 7), (7, 1)))
    assert first[0]["S2"] == second[0]["S8"] == "S2.1"  # the half holding g1u000 is .1
    assert first[1] == second[1]


def test_tracker_follows_the_estimator_contract():
    tracker = SegmentTracker(drift_threshold=0.8)
    assert clone(tracker).get_params()["drift_threshold"] == 0.8
    assert not hasattr(tracker, "mapping_") and not hasattr(clone(tracker), "seen_ids_")
    assert set(TRANSITION_KINDS) == {"survived", "grew", "shrank", "drifted", "more_compact",
                                     "less_compact", "split", "merged", "born", "died"}


def test_noise_labels_belong_to_no_segment_and_bad_input_is_rejected():
    snap = snapshot_from_labels("t", T0, ["a", "b", "c"], [0, -1, 0], np.eye(3))
    assert snap.segment_ids == ("S1",) and snap.members["S1"] == frozenset({"a", "c"})
    with pytest.raises(ValueError, match="not unique"):
        snapshot_from_labels("t", T0, ["a", "a"], [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="timezone"):
        snapshot_from_labels("t", datetime(2026, 1, 1), ["a"], [0], np.eye(1))
    with pytest.raises(ValueError, match="more than one segment"):
        SegmentSnapshot("t", T0, ("S1", "S2"), {"S1": {"a"}, "S2": {"a"}}, np.eye(2), [0, 0])
    with pytest.raises(ValueError, match="dimensions"):
        SegmentTracker().match(snap, snapshot_from_labels("u", T0, ["a"], [0], np.eye(2)[:1]))
    with pytest.raises(ValueError, match="unique"):
        rename_segments(build("t0", base_parts()), {"S1": "S2"})


def test_sankey_shows_member_flows_and_transitions(before):
    parts = replace(base_parts(), 1, members=users(1, 35), centre=unit(DIRS[1] + 0.6 * DIRS[10]))
    parts += [(7, users(1, 25, start=35), unit(DIRS[1] - 0.6 * DIRS[10]), NOISE),
              (8, users(8, 20), DIRS[8], NOISE)]
    tracker = SegmentTracker()
    _, transitions = tracker.match(before, build("t1", parts, drop=users(4, 10)))
    text = sankey_mermaid(before, tracker.renamed_, transitions)
    lines = text.splitlines()
    assert lines[0] == "sankey-beta" and "%% split: S2 -> S2.1, S2.2" in lines
    rows = list(csv.reader(line for line in lines[1:] if line and not line.startswith("%%")))
    flows = {(source, target): int(value) for source, target, value in rows}
    assert flows[("S2 (t0)", "S2.1 (t1)")] == 35 and flows[("S2 (t0)", "S2.2 (t1)")] == 25
    assert flows[("S5 (t0)", "left (t0)")] == 10 and flows[("S5 (t0)", "S5 (t1)")] == 50
    assert flows[("new users (t1)", "S6 (t1)")] == 20
    assert sum(flows.values()) == 300 + 20
    same = sankey_mermaid(before, before, [])
    assert '"S1 (t0 before)","S1 (t0 after)",60' in same.splitlines()


GROUP_KEYS = ("zh-coffee", "zh-hiking", "zh-baby", "en-photo", "en-running", "en-boardgames")


def segment_demo(name, user_ids, centres, seed):
    """Cluster and segment users placed around their centres; return the snapshot."""
    X = np.vstack(centres) + NOISE * np.random.default_rng(seed).standard_normal((len(user_ids),
                                                                                   DIM))
    labels = ProfileSegmenter().fit_predict(X, DensityClusterer().fit(X).labels_)
    return snapshot_from_labels(name, T0 + timedelta(days=seed), user_ids, labels, X)


def test_planted_changes_in_demo_groups_are_found_end_to_end(demo):
    group = {user: GROUP_KEYS.index(key) for user, key in sorted(demo.groups.items())}
    before = segment_demo("t0", list(group), [DIRS[g] for g in group.values()], seed=0)
    assert len(before.segment_ids) == 6
    owner = {g: Counter(sid for sid in before.segment_ids for u in before.members[sid]
                        if group[u] == g).most_common(1)[0][0] for g in range(6)}
    baby = [u for u, g in group.items() if g == 2]
    planted = {  # coffee drifts, hiking stays, baby splits, photo+running merge, games leave
        0: unit(DIRS[0] + DIRS[12]), 1: DIRS[1], 3: unit(DIRS[3] + DIRS[4]),
        4: unit(DIRS[3] + DIRS[4])}
    user_ids, centres = [], []
    for user, g in group.items():
        if g == 2:
            user_ids.append(user)
            sign = 1.0 if baby.index(user) < len(baby) // 2 else -1.0
            centres.append(unit(DIRS[2] + sign * 0.6 * DIRS[13]))
        elif g in planted:
            user_ids.append(user)
            centres.append(planted[g])
    user_ids += [f"new{i:03d}" for i in range(40)]
    centres += [DIRS[7]] * 40
    after = segment_demo("t1", user_ids, centres, seed=1)
    _, transitions = SegmentTracker().match(before, after)
    found = sorted((t.kind, t.source_ids) for t in transitions)
    assert found == sorted([
        ("survived", (owner[0],)), ("drifted", (owner[0],)), ("survived", (owner[1],)),
        ("split", (owner[2],)), ("merged", tuple(sorted((owner[3], owner[4])))),
        ("died", (owner[5],)), ("born", ())])
    split = next(t for t in transitions if t.kind == "split")
    assert split.target_ids == (f"{owner[2]}.1", f"{owner[2]}.2")
    fresh = {t.target_ids[0] for t in transitions if t.kind in ("merged", "born")}
    assert fresh == {"S7", "S8"}


def test_transition_is_a_frozen_record():
    t = Transition(kind="born", source_ids=(), target_ids=("S1",), overlap=0.0,
                   centroid_similarity=0.1, detail="x")
    with pytest.raises(ValueError):
        t.kind = "died"
    with pytest.raises(ValueError):
        Transition(kind="vanished", source_ids=(), target_ids=(), overlap=0.0,
                   centroid_similarity=0.0, detail="")


def test_fresh_ids_follow_the_largest_number_ever_seen():
    assert fresh_ids([], 2) == ["S1", "S2"]
    assert fresh_ids(["S3", "S12.1", "S2", "other"], 3) == ["S13", "S14", "S15"]
    assert fresh_ids(["S4"], 0) == []


def test_a_few_returning_members_do_not_decide_a_segments_fate(before):
    # S1's place is taken by 50 newcomers; 10 of its old users (1/6) now sit with S2's users.
    parts = replace(base_parts(), 0, members=users(0, 50, start=100))
    parts = replace(parts, 1, members=[*users(1, 60), *users(0, 10)])
    after = build("t1", parts)
    transitions = SegmentTracker().match(before, after)[1]
    assert kinds(transitions) == {"survived": 5}
    assert "S1 -> S1: matched by centroid, 10 of 60 members present" in transitions[0].detail
    # judged by the 10 returning members alone, S1 would have merged into S2
    members_only = SegmentTracker(min_shared_share=0.0).match(before, after)[1]
    assert kinds(members_only)["merged"] == 1
