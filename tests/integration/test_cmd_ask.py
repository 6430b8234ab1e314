"""`interestlens ask` against the store of a demo run, offline."""

from __future__ import annotations

import pytest

from .run_cli import interestlens


def test_ask_in_english_routes_to_segments_and_says_offline(demo_run):
    out, first, _ = demo_run
    assert first.returncode == 0, first.stderr
    result = interestlens("ask", "Which segments care most about running shoes?", "--store",
                          out / "store", "--show-tools")
    assert result.returncode == 0, result.stderr
    assert "find_segments" in result.stderr
    assert "[offline]" in result.stderr
    first_answer_line = next(line for line in result.stdout.splitlines() if line.startswith("S"))
    assert "running" in first_answer_line


def test_ask_in_chinese_recommends_for_a_segment(demo_run):
    out, _, _ = demo_run
    result = interestlens("ask", "哪些用户群最关心手冲咖啡？给他们推荐什么？", "--store",
                          out / "store", "--show-tools")
    assert result.returncode == 0, result.stderr
    assert "recommend_for_segment" in result.stderr
    assert "手冲" in result.stdout


def test_ask_without_a_store_is_a_one_line_error(tmp_path):
    result = interestlens("ask", "list segments", "--store", tmp_path / "empty")
    assert result.returncode == 4
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")


@pytest.mark.parametrize("command", [["ask", "list segments"], ["recommend", "x"], ["trends"]])
def test_read_only_commands_on_a_missing_store_create_nothing(tmp_path, command):
    named = interestlens(*command, "--store", tmp_path / "missing")
    default = interestlens(*command, cwd=tmp_path)
    for result, store in ((named, tmp_path / "missing"), (default, ".interestlens")):
        assert result.returncode == 4
        assert result.stderr == (f"error: {store}: no InterestLens store here; run "
                                 "`interestlens run` into this store first\n")
    assert list(tmp_path.iterdir()) == []


def test_recommend_command_for_a_user_and_a_segment(demo_run):
    out, _, _ = demo_run
    user = "u0002"
    result = interestlens("recommend", user, "--store", out / "store", "-k", "3")
    assert result.returncode == 0, result.stderr
    ranks = [line.split(".")[0].strip() for line in result.stdout.splitlines()
             if not line.startswith("    ")]
    assert ranks == ["1", "2", "3"]
    assert "[template]" in result.stdout
    segment = interestlens("recommend", "--segment", "S1", "--store", out / "store", "-k", "2")
    assert segment.returncode == 0, segment.stderr
    neither = interestlens("recommend", "--store", out / "store")
    assert neither.returncode == 3 and "--segment" in neither.stderr
