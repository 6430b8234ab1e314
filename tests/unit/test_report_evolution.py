"""The report's evolution section: size chart, sankey and transitions, escaped, only when given."""

import pandas as pd

from interestlens.tools.records import QuarantinedRow
from interestlens.tools.report import write_outputs
from interestlens.tools.report_evolution import (
    EvolutionView,
    evolution_html,
    evolution_markdown,
    sizes_chart_png,
)

SIZES = pd.DataFrame({1: [40, 30, 0], 2: [55, 0, 12]}, index=["S1", "S2", "S3"])
SANKEY = 'sankey-beta\n\n"S1 (run 1)","S1 (update 2)",40\n'
VIEW = EvolutionView(sizes=SIZES, labels=("run 1", "update 2"), sankey=SANKEY,
                     transitions=(("grew", "S1: 40 -> 55 members (+38%)"),
                                  ("died", "S2 died <b>quietly</b> | gone")))


def test_the_size_chart_is_a_png():
    png = sizes_chart_png(VIEW)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_markdown_section_has_the_chart_the_sankey_and_escaped_transitions():
    lines = evolution_markdown(VIEW, "segment_sizes.png", lambda t: t.replace("|", "\\|"))
    text = "\n".join(lines)
    assert "![Segment sizes per snapshot](segment_sizes.png)" in text
    assert "```mermaid\nsankey-beta" in text
    assert "| died | S2 died <b>quietly</b> \\| gone |" in text
    assert evolution_markdown(None, None, str) == []


def test_html_section_escapes_data_and_embeds_the_chart():
    html = "\n".join(evolution_html(VIEW, b"png-bytes"))
    assert "data:image/png;base64,cG5nLWJ5dGVz" in html
    assert '<pre class="mermaid">\nsankey-beta' in html and "&quot;S1 (run 1)&quot;" in html
    assert "&lt;b&gt;quietly&lt;/b&gt;" in html and "<b>" not in html
    assert evolution_html(None, None) == []


def test_write_outputs_adds_the_section_and_the_chart_file(tmp_path):
    paths = write_outputs(tmp_path, segments=[], users=pd.DataFrame(),
                          events=pd.DataFrame(), recommendations=pd.DataFrame(),
                          quarantine=[QuarantinedRow(source="a.csv", row=1, reason="empty text")],
                          map_coords=None, map_segments=None, summary={"n_users": 0},
                          evolution=VIEW)
    assert (tmp_path / "segment_sizes.png").read_bytes()[:4] == b"\x89PNG"
    assert "segment_sizes.png" in paths
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert report.index("## Segment evolution") < report.index("## Segments (0)")
    plain = tmp_path / "plain"
    write_outputs(plain, segments=[], users=pd.DataFrame(), events=pd.DataFrame(),
                  recommendations=pd.DataFrame(), quarantine=[], map_coords=None,
                  map_segments=None, summary={})
    assert not (plain / "segment_sizes.png").exists()
    assert "Segment evolution" not in (plain / "report.html").read_text(encoding="utf-8")
