"""The web UI in a real browser: every view on a demo store, uploads and runs, separate sessions."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import pytest

from interestlens.agent import write_demo_csv

from .conftest import SHARED_DATA
from .ui_driver import (
    VIEWPORT,
    ask,
    look_up,
    open_app,
    open_segment,
    pipeline_stages,
    preview_path,
    run,
    segment_rows,
    shot,
    show_last_turn,
    tab,
    upload,
    wait_for_map,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

N_UPLOAD_USERS = 36


def test_every_view_of_the_demo_store(context, ui_url, demo_store, screenshots):
    page = open_app(context, ui_url)
    assert "demo_events.csv" in page.locator("#il-dataset").inner_text()
    assert "Offline" in page.locator("#il-mode").inner_text()

    answer, steps = ask(page, "哪些用户群最关心手冲咖啡？给他们推荐什么？")
    assert any(s.startswith("⚙ find_segments") and "手冲咖啡" in s for s in steps), steps
    assert any(s.startswith("⚙ recommend_for_segment") for s in steps), steps
    assert "手冲" in answer and "Traceback" not in answer
    show_last_turn(page)
    shot(page, screenshots, "chat-zh")
    answer, steps = ask(page, "Which segments care most about running shoes?")
    assert any(s.startswith("⚙ find_segments") and "running shoes" in s for s in steps), steps
    first_line = next(line for line in answer.splitlines() if re.match(r"S\d+ ·", line))
    assert "running" in first_line
    show_last_turn(page)
    shot(page, screenshots, "chat-en")

    rows = segment_rows(page)
    sizes = [int(row[2]) for row in rows]
    assert sum(sizes) == 120 and sizes == sorted(sizes, reverse=True)
    assert wait_for_map(page) == 120
    card = open_segment(page, 1)
    segment_id, n_users = rows[1][0], int(rows[1][2])
    assert card.startswith(f"{segment_id} · {rows[1][1]}")
    assert "Keywords" in card and "Representative texts" in card
    page.locator("#il-export").click()
    link = page.locator(f'#il-export-file a[download="{segment_id}-users.csv"]')
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), encoding="utf-8") as exported:
        members = list(csv.DictReader(exported))
    assert len(members) == n_users and {m["segment"] for m in members} == {segment_id}
    shot(page, screenshots, "segments")

    profile, recommendations = look_up(page, members[0]["user"])
    assert f"Segment: {segment_id}" in profile and "Confidence:" in profile
    assert page.locator("#il-recs li").count() == 5
    assert "template" in recommendations and "Traceback" not in recommendations
    assert page.locator("#il-interests [role=row].virtual-row").count() >= 1
    shot(page, screenshots, "user")

    stages = pipeline_stages(page)
    assert [s.split()[0] for s in stages][:3] == ["ingest", "clean", "features"]
    assert re.fullmatch(r"ingest [\d,]+ rows · [\d.]+ s", stages[0]), stages[0]
    assert any(re.fullmatch(r"segment \d+ segments? · [\d.]+ s", s) for s in stages), stages
    shot(page, screenshots, "pipeline")
    tab(page, "Settings")
    assert "offline mode" in page.locator("#il-settings-now").inner_text()
    shot(page, screenshots, "settings")
    tab(page, "Data")
    shot(page, screenshots, "data")


def test_sessions_keep_their_own_uploads_runs_and_conversations(browser, ui_url, screenshots,
                                                                tmp_path):
    data = write_demo_csv(tmp_path / "shop_reviews.csv", n_users=N_UPLOAD_USERS, seed=7)
    first, second = (browser.new_context(viewport=VIEWPORT) for _ in range(2))
    a, b = open_app(first, ui_url), open_app(second, ui_url)

    preview = upload(a, data)
    assert "shop_reviews.csv (csv, utf-8)" in preview and "usable" in preview
    assert "User id → user_id" in preview and "Text → text" in preview
    outcome = run(a)
    assert "Done in" in outcome, outcome
    a.locator("#il-dataset").get_by_text("shop_reviews.csv").wait_for()
    report = a.locator("#il-data-current").inner_text()
    assert report.startswith("Current data: shop_reviews.csv"), report
    assert re.search(rf"Users: {N_UPLOAD_USERS} in \d+ segments", report), report
    assert re.search(r"Rows: ([\d,]+) in = ([\d,]+) kept \+ ([\d,]+) quarantined", report)
    shot(a, screenshots, "data-after-run")
    assert sum(int(row[2]) for row in segment_rows(a)) == N_UPLOAD_USERS
    shot(a, screenshots, "segments-after-run")

    assert "demo_events.csv" in b.locator("#il-dataset").inner_text()
    tab(b, "Data")
    assert "shop_reviews" not in b.locator("#il-preview").inner_text()
    assert sum(int(row[2]) for row in segment_rows(b)) == 120

    ask(a, "list segments")
    assert b.locator("#il-chatbot .message-row").count() == 0
    ask(b, "比较S1和S2")
    assert "比较S1和S2" not in a.locator("#il-chatbot").inner_text()
    assert "list segments" not in b.locator("#il-chatbot").inner_text()
    first.close()
    second.close()


def test_oversize_and_broken_uploads_get_a_one_line_message(context, ui_url, screenshots,
                                                            tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("user_id,text\n" + "u1,a long review about coffee and shoes\n" * 40_000,
                   encoding="utf-8")
    page = open_app(context, ui_url)
    tab(page, "Data")
    page.locator("#il-upload input[type=file]").set_input_files(str(big))
    page.get_by_text(re.compile(r'exceed the maximum allowed size of 1\.0 Mb: "big\.csv"')
                     ).wait_for()
    shot(page, screenshots, "data-oversize")

    broken = tmp_path / "broken.json"
    broken.write_text('[{"text": "fine"}, {', encoding="utf-8")
    page = open_app(context, ui_url)
    message = upload(page, broken)
    assert re.fullmatch(r"⚠ broken\.json: invalid JSON at line 1, column \d+: .+", message.strip())
    assert "Traceback" not in page.content()
    shot(page, screenshots, "data-broken")


def test_llm_settings_apply_to_the_session_and_the_key_never_comes_back(context, ui_url, ui_log,
                                                                       screenshots):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
    from agent_fakes import reply, start_fake_llm, tool_calls

    fake, server = start_fake_llm()
    secret = "sk-test-NEVER-SHOWN-4321"
    try:
        fake.script.extend([tool_calls(("list_segments", {})),
                            reply("There are six segments; S1 is the largest.")])
        page = open_app(context, ui_url)
        tab(page, "Settings")
        page.locator("#il-base-url textarea").fill(fake.url)
        page.locator("#il-model textarea").fill("fake-model")
        page.locator("#il-key input").fill(secret)
        page.locator("#il-apply").click()
        page.locator("#il-settings-status").get_by_text("Applied").wait_for()
        now = page.locator("#il-settings-now").inner_text()
        assert "fake-model" in now and "API key: set (hidden)" in now
        assert page.locator("#il-key input").input_value() == ""
        shot(page, screenshots, "settings-llm")

        answer, steps = ask(page, "How many segments are there?")
        assert answer.strip() == "There are six segments; S1 is the largest."
        assert [s.split(" · ")[0] for s in steps] == ["⚙ list_segments"]
        mode = page.locator("#il-mode").inner_text()
        assert "LLM · fake-model" in mode and "last answer: llm" in mode
        assert secret not in page.content() and secret not in ui_log.read_text()
        assert any(r["model"] == "fake-model" for r in fake.requests)
        shot(page, screenshots, "chat-llm")
    finally:
        server.shutdown()
        server.server_close()


def test_server_paths_only_inside_the_shared_folders(context, ui_url, screenshots):
    page = open_app(context, ui_url)
    preview = preview_path(page, "/etc")
    assert preview.startswith("⚠ /etc: outside the folders this server shares")
    beer = SHARED_DATA / "stackexchange_small_sites" / "beer"
    if not beer.is_dir():
        pytest.skip("../shared/data is not available")
    preview = preview_path(page, str(beer))
    assert preview.startswith("beer (stackexchange, utf-8)")
    assert "User id → OwnerUserId/UserId" in preview and "fixed roles" in preview
    shot(page, screenshots, "data-folder")
