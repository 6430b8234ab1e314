"""The ``interestlens`` command line: the only place that configures logging and exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="InterestLens: find, explain and recommend from user-interest segments.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
logger = logging.getLogger("interestlens")

EXIT_CODES = {"InputError": 2, "ConfigError": 3, "StoreError": 4, "LLMError": 4}
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")]
Debug = Annotated[bool, typer.Option("--debug", help="Re-raise unexpected errors.")]


def _configure(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # Nothing may download at run time: models come from installed packages or local paths.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@contextmanager
def _errors_as_one_line(debug: bool) -> Iterator[None]:
    """Turn InterestLens errors into ``error: ...`` and an exit code; never show a traceback."""
    from interestlens.agent import InterestLensError

    try:
        yield
    except InterestLensError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_CODES.get(type(err).__name__, 1)) from None
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as err:
        if debug:
            raise
        # A fresh private file per failure: a fixed name in a shared /tmp could be another
        # user's file or a link planted there.
        handle, log = tempfile.mkstemp(prefix="interestlens-error-", suffix=".log")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(traceback.format_exc())
        typer.echo(f"error: unexpected {type(err).__name__}: {err} (traceback in {log})", err=True)
        raise typer.Exit(1) from None


@contextmanager
def _progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """Yield a ``progress(label, done, total)`` callback drawing one rich bar per label."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bars = Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), transient=False,
                    disable=not sys.stderr.isatty())
    tasks: dict[str, Any] = {}

    def progress(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bars.add_task(label, total=total)
        bars.update(tasks[label], completed=done, total=total)

    with bars:
        yield progress


def _settings(store: Path | None, embedding_model: str | None, lexical_weight: float | None):
    """Build the settings; an invalid flag, variable or config value is a one-line ConfigError."""
    from pydantic import ValidationError

    from interestlens.agent import ConfigError, Settings

    overrides = {"store_dir": store, "embedding_model": embedding_model,
                 "lexical_weight": lexical_weight}
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"setting '{field}' (flag, INTERESTLENS_{field.upper()} or config "
                          f"file): {first['msg']}, got {first.get('input')!r}") from None


def _check_out_dir(out: Path, paths: list[Path]) -> None:
    """Refuse an --out that is a file, or that would overwrite one of the inputs."""
    from interestlens.agent import OUTPUT_FILES, ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    clashes = [p for p in paths if p.is_file() and p.resolve().parent == out.resolve()
               and p.name in OUTPUT_FILES]
    if clashes:
        raise ConfigError(f"--out {out}: would overwrite the input {clashes[0]}; "
                          "choose another output folder")


def _read_interests(spec: str | None) -> str | None:
    """Return the label list of --interests: the text given, or the content of the file it names."""
    from interestlens.agent import ConfigError

    if spec is None or not Path(spec).is_file():
        return spec
    try:
        text = Path(spec).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"--interests {spec}: cannot read the label file ({err})") from None
    if not text.strip():
        raise ConfigError(f"--interests {spec}: the label file holds no label")
    return text


def _parse_map(spec: str | None) -> dict[str, str] | None:
    from interestlens.agent import parse_column_map

    return parse_column_map(spec) if spec else None


def _parse_items_map(spec: str | None) -> dict[str, str] | None:
    from interestlens.agent import parse_catalogue_map

    return parse_catalogue_map(spec) if spec else None


def _print_summary(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from interestlens.agent import count_noun

    s = result.summary
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title="InterestLens run", show_header=False)
    rows = [
        ("inputs", ", ".join(s.inputs)),
        ("rows", f"{s.n_input_rows:,} in = {s.n_kept:,} kept + {s.n_quarantined:,} quarantined "
                 f"({s.n_rejected_at_read:,} unreadable or unusable, "
                 f"{s.n_exact_duplicates:,} duplicates, {s.n_near_duplicates:,} near-duplicates, "
                 f"{s.n_noise:,} noise)"),
        ("mode", "document (one row = one user)" if s.is_document_mode else "users"),
        ("users", f"{s.n_users:,} in {count_noun(s.n_segments, 'segment')} from "
                  f"{count_noun(s.n_clusters, 'cluster')} "
                  f"({s.n_outliers:,} outliers assigned with low confidence)"),
        ("embedding", f"{s.embedding_model}: {s.n_embedded:,} texts embedded, "
                      f"{s.n_embedding_cache_hits:,} from cache; "
                      f"lexical weight {s.lexical_weight}"),
        ("languages", ", ".join(f"{k} {v:.0%}" for k, v in s.language_share.items())),
        ("naming", s.naming_mode),
        ("items", f"{s.n_items:,}" + (
            f" (catalogue file: {s.n_catalogue_rows:,} rows, {s.n_catalogue_quarantined:,} "
            "quarantined)" if s.n_catalogue_rows else "")),
        ("time", f"{s.total_seconds:.1f} s (" + ", ".join(
            f"{k} {v:.1f}" for k, v in s.stage_seconds.items()) + ")"),
        ("store", s.store_dir),
    ]
    if s.out_dir:
        rows.append(("outputs", s.out_dir))
    if s.n_transitions:
        rows.append(("evolution", ", ".join(f"{n} {k}" for k, n in s.n_transitions.items())
                     + " since the store's last snapshot (see `interestlens trends`)"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    segments = Table(title="Segments")
    for column in ("id", "name", "users", "share", "sentiment", "keywords"):
        segments.add_column(column)
    for seg in result.segments:
        segments.add_row(seg.segment_id, seg.name, f"{seg.n_users:,}", f"{seg.share:.1%}",
                         f"{seg.sentiment:+.2f}", ", ".join(seg.keywords[:6]))
    console.print(segments)


@app.command()
def run(
    paths: Annotated[list[Path], typer.Argument(help="Files (csv/tsv/json/jsonl/parquet) or "
                                                     "Stack Exchange / MovieLens folders.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for segments, users, report…")],
    store: Annotated[Path | None, typer.Option(help="Persistent store folder.")] = None,
    column_map: Annotated[str | None, typer.Option(
        "--map", help="Column roles, e.g. 'text=review,user=uid'.")] = None,
    items: Annotated[Path | None, typer.Option(
        "--items", help="Item catalogue file: id, title/description, optional category and "
                        "date columns.")] = None,
    items_map: Annotated[str | None, typer.Option(
        "--items-map", help="Catalogue column roles, e.g. 'item_id=sku,title=name' (roles: "
                            "item_id, title, description, category, date).")] = None,
    embedding_model: Annotated[str | None, typer.Option(
        help="sentence-transformers model name or local path.")] = None,
    lexical_weight: Annotated[float | None, typer.Option(
        help="0..1 weight of jieba/word TF-IDF features; default from the Chinese share.")] = None,
    window: Annotated[str | None, typer.Option(
        "--window", help="Replay the history window by window, e.g. 90d, 12w, 6m or 1y "
                         "(calendar months/years); each window is a snapshot.")] = None,
    snapshots: Annotated[int | None, typer.Option(
        "--snapshots", help="Replay the history in N windows of equal length.")] = None,
    interests: Annotated[str | None, typer.Option(
        "--interests", help="Zero-shot interest labels scored for every user and segment: "
                            "'咖啡,茶,数码' or a file with one label per line.")] = None,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Segment users from behaviour data and write the outputs to --out."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant, ConfigError

        settings = _settings(store, embedding_model, lexical_weight)
        _check_out_dir(out, [*paths, *([items] if items is not None else [])])
        is_replay = window is not None or snapshots is not None
        if is_replay and items is not None:
            raise ConfigError("--items cannot be combined with --window or --snapshots")
        if is_replay and interests is not None:
            raise ConfigError("--interests cannot be combined with --window or --snapshots")
        assistant = Assistant(settings=settings)
        with _progress_bars() as progress:
            if is_replay:
                replayed = assistant.replay(paths, window=window, snapshots=snapshots,
                                            out_dir=out, column_map=_parse_map(column_map),
                                            progress=progress)
                _print_replay(replayed)
                return
            result = assistant.run(paths, out_dir=out, column_map=_parse_map(column_map),
                                   items=items, items_map=_parse_items_map(items_map),
                                   progress=progress, interests=_read_interests(interests))
        _print_summary(result)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(
        "--out", help="Folder for the demo data and outputs.")] = Path("out/demo"),
    store: Annotated[Path | None, typer.Option(help="Persistent store folder.")] = None,
    users: Annotated[int, typer.Option(help="Number of demo users.")] = 240,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 0,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Generate the seeded bilingual demo data into --out and run the main job on it."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant, write_demo_csv

        data = write_demo_csv(out / "demo_events.csv", n_users=users, seed=seed)
        typer.echo(f"demo data: {data}")
        assistant = Assistant(settings=_settings(store or out / "store", None, None))
        with _progress_bars() as progress:
            result = assistant.run([data], out_dir=out, progress=progress)
        _print_summary(result)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question, in Chinese or English.")],
    store: Annotated[Path | None, typer.Option(help="Store folder of a previous run.")] = None,
    show_tools: Annotated[bool, typer.Option("--show-tools", help="Print the tool calls.")] = False,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Answer a question about the segments of a previous run (offline unless an LLM is set)."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant

        with Assistant(settings=_settings(store, None, None)) as assistant:
            assistant.segments()  # a store without a finished run is an error, not an answer
            reply = assistant.ask(question)
        typer.echo(reply.text)
        for call in reply.tool_calls if show_tools else ():
            typer.echo(f"  tool {call.name}({json.dumps(call.args, ensure_ascii=False)})", err=True)
        typer.echo(f"[{reply.mode}] {reply.note}".rstrip(), err=True)


@app.command()
def recommend(
    user: Annotated[str | None, typer.Argument(help="User id (omit with --segment).")] = None,
    store: Annotated[Path | None, typer.Option(help="Store folder of a previous run.")] = None,
    k: Annotated[int, typer.Option("-k", help="How many items.")] = 10,
    segment: Annotated[str | None, typer.Option(help="Recommend for a whole segment.")] = None,
    all_users: Annotated[bool, typer.Option(
        "--all", help="Recommend for every user into --out (batch export).")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="With --all: a .csv or .json file.")] = None,
    category: Annotated[str | None, typer.Option(help="Only items of this category.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Only items dated on or after this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(
        help="Only items dated on or before this date (YYYY-MM-DD).")] = None,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Recommend items to one user, one segment or every user, each with its reason and evidence."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant, ConfigError

        if (user is not None) + (segment is not None) + all_users != 1:
            raise ConfigError("give one of USER, --segment ID or --all")
        if all_users != (out is not None):
            raise ConfigError("--all and --out FILE (.csv or .json) go together")
        filters = {"category": category, "since": since, "until": until}
        with Assistant(settings=_settings(store, None, None)) as assistant:
            if all_users:
                path = assistant.export_recommendations(out, k, **filters)
                typer.echo(f"wrote every user's recommendations to {path}")
                return
            recs = (assistant.recommend(user, k, **filters) if user is not None
                    else assistant.recommend_for_segment(segment, k, **filters))
        for rec in recs:
            level = " · cold start: segment-level" if rec.level == "cold_start" else ""
            typer.echo(f"{rec.rank:>2}. {rec.item_id}  {rec.score:.3f}  {rec.item_text[:70]}")
            typer.echo(f"    [{rec.reason_mode}{level}] {rec.reason}")
            typer.echo(f"    evidence: {'; '.join(rec.evidence)}")


@app.command()
def ui(
    store: Annotated[Path | None, typer.Option(
        help="Store of a previous run, shown to every browser session (sessions run their "
             "own uploads into their own stores).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 for all.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    max_upload_mb: Annotated[float, typer.Option(help="Largest upload per file, in MB.")] = 50.0,
    data_dir: Annotated[list[Path] | None, typer.Option(
        metavar="DIR", help="Server folder whose files sessions may read by path "
                            "(repeatable; default: the working folder).")] = None,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Serve the analyst web UI: chat, data, segments, users, pipeline and settings."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant, ConfigError
        from interestlens.ui import serve

        if not 0 < port < 65536:
            raise ConfigError(f"--port {port}: expected a port from 1 to 65535")
        if max_upload_mb <= 0:
            raise ConfigError(f"--max-upload-mb {max_upload_mb:g}: expected a size above 0")
        settings = _settings(store, None, None)
        typer.echo(f"InterestLens UI on http://{host}:{port} (store {settings.store_dir}); "
                   "Ctrl+C stops it")
        serve(lambda: Assistant(settings=settings), host=host, port=port,
              max_upload_mb=max_upload_mb, data_dirs=data_dir or [Path.cwd()])


@app.command()
def update(
    paths: Annotated[list[Path], typer.Argument(help="New files or folders, as for run.")],
    store: Annotated[Path | None, typer.Option(help="Store folder of a previous run.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the updated outputs and report.")] = None,
    column_map: Annotated[str | None, typer.Option(
        "--map", help="Column roles, e.g. 'text=review,user=uid'.")] = None,
    recluster: Annotated[bool, typer.Option(
        "--recluster", help="Re-cluster whatever the drift.")] = False,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Add new events to a store: only new texts are embedded, segments keep their ids."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant

        if out is not None:
            _check_out_dir(out, paths)
        with Assistant(settings=_settings(store, None, None)) as assistant, \
                _progress_bars() as progress:
            result = assistant.update(paths, out_dir=out, column_map=_parse_map(column_map),
                                      recluster=recluster, progress=progress)
        _print_update(result)


@app.command()
def trends(
    store: Annotated[Path | None, typer.Option(help="Store folder of previous runs/updates.")]
    = None,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Print segment sizes per snapshot and the transitions between snapshots."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant, StoreError

        with Assistant(settings=_settings(store, None, None)) as assistant:
            history = assistant.trends()
        if history.snapshots.empty:
            raise StoreError(f"{assistant.store_dir}: no snapshot yet; run `interestlens run` "
                             "into this store first")
        _print_trends(history)


def _console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)


def _print_update(result) -> None:
    from rich.table import Table

    s = result.summary
    table = Table(title="InterestLens update", show_header=False)
    if s.n_new_events == 0:
        table.add_row("events", f"0 new events ({s.n_known_events:,} already in the store, "
                                f"{s.n_quarantined:,} quarantined): nothing changed")
    else:
        transitions = ", ".join(f"{n} {kind}" for kind, n in s.transitions.items()) or "none"
        for key, value in (
            ("inputs", ", ".join(s.inputs)),
            ("events", f"{s.n_new_events:,} new events ({s.n_known_events:,} already in the "
                       f"store, {s.n_quarantined:,} quarantined)"),
            ("embedding", f"{s.n_embedded:,} texts embedded, {s.n_embedding_cache_hits:,} "
                          "from cache"),
            ("users", f"{s.n_users:,} ({s.n_new_users:,} new, {s.n_changed_users:,} with new "
                      f"events, {s.n_novel_users:,} of them novel; {s.n_active_users:,} active)"),
            ("segments", f"{s.n_segments}; " + (f"re-clustered ({s.recluster_reason})"
                                               if s.is_reclustered else
                                               f"kept (drift {s.drift:.2f})")),
            ("transitions", f"{transitions} (snapshot {s.snapshot_id})"),
            ("time", f"{s.total_seconds:.1f} s (" + ", ".join(
                f"{k} {v:.1f}" for k, v in s.stage_seconds.items()) + ")"),
        ):
            table.add_row(key, value)
    table.add_row("store", s.store_dir)
    console = _console()
    console.print(table)
    if result.transitions:
        _print_transitions(console, [(str(s.snapshot_id), t.kind, t.source_ids, t.target_ids,
                                      t.overlap, t.centroid_similarity, t.detail)
                                     for t in result.transitions])


def _print_replay(result) -> None:
    from rich.table import Table

    from interestlens.agent import count_noun

    table = Table(title="Replay")
    for column in ("window", "step", "events", "users", "segments", "re-clustered",
                   "transitions", "s"):
        table.add_column(column)
    for step in result.steps:
        table.add_row(step.label, step.kind, f"{step.n_events:,}", f"{step.n_users:,}",
                      str(step.n_segments), "yes" if step.is_reclustered else "no",
                      ", ".join(f"{n} {k}" for k, n in step.transitions.items()) or "-",
                      f"{step.seconds:.1f}")
    if result.quarantine:
        table.caption = (f"{count_noun(len(result.quarantine), 'row')} quarantined over all "
                         "windows (see quarantine.csv)")
    _console().print(table)
    _print_trends(result.trends)


def _print_trends(history) -> None:
    from rich.table import Table

    console = _console()
    labels = dict(zip(history.snapshots["snapshot_id"], history.snapshots["label"]))
    sizes = Table(title="Active users per segment and snapshot")
    sizes.add_column("segment")
    sizes.add_column("name (first → last)", max_width=48)
    for snapshot_id in history.sizes.columns:
        sizes.add_column(str(labels[snapshot_id]), justify="right")
    for segment_id, row in history.sizes.iterrows():
        first, last = (history.first_names.get(segment_id, ""),
                       history.names.get(segment_id, ""))
        sizes.add_row(str(segment_id), last if first in ("", last) else f"{first} → {last}",
                      *(f"{n:,}" if n else "-" for n in row))
    sizes.add_row("(all)", "", *(f"{n:,}" for n in history.snapshots["n_users"]))
    console.print(sizes)
    _print_transitions(console, [
        (str(r.label), r.kind, r.source_ids, r.target_ids, r.overlap, r.centroid_similarity,
         r.detail) for r in history.transitions.itertuples(index=False)])


def _print_transitions(console, rows) -> None:
    from rich.table import Table

    table = Table(title="Transitions")
    for column in ("snapshot", "kind", "from", "to", "overlap", "cosine", "detail"):
        table.add_column(column)
    for label, kind, sources, targets, overlap, cosine, detail in rows:
        if kind != "survived":
            table.add_row(label, kind, ", ".join(sources) or "-", ", ".join(targets) or "-",
                          f"{overlap:.2f}", f"{cosine:.2f}", detail)
    n_survived = sum(row[1] == "survived" for row in rows)
    table.caption = f"{n_survived} survived transitions not listed"
    console.print(table)
