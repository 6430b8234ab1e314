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
        log = Path(tempfile.gettempdir()) / "interestlens-error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
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


def _parse_map(spec: str | None) -> dict[str, str] | None:
    from interestlens.agent import parse_column_map

    return parse_column_map(spec) if spec else None


def _print_summary(result) -> None:
    from rich.console import Console
    from rich.table import Table

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
        ("users", f"{s.n_users:,} in {s.n_segments} segments from {s.n_clusters} clusters "
                  f"({s.n_outliers:,} outliers assigned with low confidence)"),
        ("embedding", f"{s.embedding_model}: {s.n_embedded:,} texts embedded, "
                      f"{s.n_embedding_cache_hits:,} from cache; "
                      f"lexical weight {s.lexical_weight}"),
        ("languages", ", ".join(f"{k} {v:.0%}" for k, v in s.language_share.items())),
        ("naming", s.naming_mode),
        ("items", f"{s.n_items:,}"),
        ("time", f"{s.total_seconds:.1f} s (" + ", ".join(
            f"{k} {v:.1f}" for k, v in s.stage_seconds.items()) + ")"),
        ("store", s.store_dir),
    ]
    if s.out_dir:
        rows.append(("outputs", s.out_dir))
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
    embedding_model: Annotated[str | None, typer.Option(
        help="sentence-transformers model name or local path.")] = None,
    lexical_weight: Annotated[float | None, typer.Option(
        help="0..1 weight of jieba/word TF-IDF features; default from the Chinese share.")] = None,
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Segment users from behaviour data and write the outputs to --out."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant

        settings = _settings(store, embedding_model, lexical_weight)
        _check_out_dir(out, paths)
        assistant = Assistant(settings=settings)
        with _progress_bars() as progress:
            result = assistant.run(paths, out_dir=out, column_map=_parse_map(column_map),
                                   progress=progress)
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
    verbose: Verbose = 0,
    debug: Debug = False,
) -> None:
    """Recommend items to one user or one segment, each with its reason."""
    _configure(verbose)
    with _errors_as_one_line(debug):
        from interestlens.agent import Assistant, ConfigError

        if (user is None) == (segment is None):
            raise ConfigError("give either a USER or --segment ID")
        with Assistant(settings=_settings(store, None, None)) as assistant:
            recs = (assistant.recommend(user, k) if user is not None
                    else assistant.recommend_for_segment(segment, k))
        for rec in recs:
            typer.echo(f"{rec.rank:>2}. {rec.item_id}  {rec.score:.3f}  {rec.item_text[:70]}")
            typer.echo(f"    [{rec.reason_mode}] {rec.reason}")
