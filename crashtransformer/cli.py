"""The click command group. Each command parses options into a config and calls one function;
there is no logic here beyond that."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crashtransformer.core.config import (
    EvaluateConfig,
    ExportConfig,
    InitModelConfig,
    PrepareDataConfig,
    ReportConfig,
    RunConfig,
    TrainConfig,
    resolve_config,
    save_config,
)
from crashtransformer.core.errors import EXIT_INTERNAL, EXIT_RETRY, EXIT_USAGE, UserError
from crashtransformer.core.io import is_no_space, no_space_message
from crashtransformer.core.fields import FlatField, Range, base_type, flat_fields
from crashtransformer.core.logs import log, log_run_header, setup_logging
from crashtransformer.core.version import __version__

_state: dict = {"log_path": None}


# ----------------------------------------------------------------------------- flags from the configs


def _flag_names(flat: FlatField) -> list[str]:
    """`--name` and its dashed alias; a boolean also gets its off switch, both spellings, so a
    preset's `true` can be turned off from the command line (`--fp16/--no_fp16`, `--no-fp16`).
    A field that already reads as a negation (`no_plan`) is switched off by its positive name."""
    name = flat.name
    on = list(dict.fromkeys([f"--{name}", f"--{name.replace('_', '-')}"]))
    if base_type(flat.annotation)[0] is not bool:
        return on
    off_name = name.removeprefix("no_") if name.startswith("no_") else f"no_{name}"
    off = list(dict.fromkeys([f"--{off_name}", f"--{off_name.replace('_', '-')}"]))
    return [f"{on[0]}/{off[0]}", *on[1:], *(f" /{extra}" for extra in off[1:])]


def _click_option(flat: FlatField):
    base, is_list = base_type(flat.annotation)
    meta, default = flat.field.metadata, flat.default
    help_text = meta.get("help", "")
    if default not in (None, "", [], False):
        help_text += f"  [default: {default}]"
    kwargs: dict = {"default": None, "help": help_text}
    if base is bool:
        kwargs["is_flag"] = True
    elif meta.get("choices"):
        kwargs["type"] = click.Choice(meta["choices"], case_sensitive=False)
    else:
        kwargs["type"] = _number_type(base, meta.get("range"))
    if is_list:
        kwargs["multiple"] = True
    return click.option(*_flag_names(flat), flat.name, **kwargs)


def _number_type(base: type, valid: Range | None):
    """click's range type for a number with a declared range: a bad value is refused at parse time."""
    if valid is None or base not in (int, float):
        return {int: int, float: float}.get(base, str)
    number_range = click.IntRange if base is int else click.FloatRange
    return number_range(valid.min, valid.max, min_open=valid.min_open, max_open=valid.max_open)


def config_options(cls: type):
    """Decorator: one click option per (flattened) field of `cls`, plus `--config FILE.yaml`."""

    def decorate(command):
        for flat in reversed(list(flat_fields(cls))):
            if flat.field.metadata.get("cli", True):
                command = _click_option(flat)(command)
        return click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                            help="YAML file of defaults for this command (see configs/); flags override it.")(command)

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="crashtransformer")
@click.option("--log_dir", "--log-dir", default="logs", show_default=True, help="Where log files go.")
@click.option("--log_level", "--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Console verbosity (the log file always gets DEBUG).")
def cli(log_dir: str, log_level: str) -> None:
    """CrashTransformer: causal summaries of police crash narratives, and the tools to
    fine-tune the models that write them."""
    _state["log_path"] = setup_logging(log_dir, log_level)
    if _state["log_path"]:
        log.debug("log file: %s", _state["log_path"])


@cli.command("init-model")
@config_options(InitModelConfig)
def init_model_command(config_file, **options) -> None:
    """Build a new small BART/T5/Pegasus model offline, with a tokenizer trained on your corpus."""
    from crashtransformer.data.corpus import read_corpus_texts
    from crashtransformer.models.building import build_model

    cfg = resolve_config(InitModelConfig, config_file, options)
    log_run_header(cfg.seed)
    if not cfg.output:
        raise UserError("missing --output DIR: where to write the new model")
    texts = read_corpus_texts(cfg.corpus, cfg.text_column, cfg.max_corpus_rows)
    log.info("training a %s tokenizer on %d texts", cfg.arch, len(texts))
    out = build_model(cfg.arch, cfg.size, texts, cfg.output, cfg.vocab_size, cfg.seed,
                      cfg.encoder_init, cfg.encoder_layers, cfg.decoder_layers)
    save_config(cfg, out, "init_model_config.json")
    click.echo(str(out))


@cli.command("train")
@config_options(TrainConfig)
def train_command(config_file, **options) -> None:
    """Fine-tune a model on crash narratives (plan-conditioned seq2seq summaries)."""
    from crashtransformer.train.command import train

    cfg = resolve_config(TrainConfig, config_file, options)
    log_run_header(cfg.seed)
    click.echo(str(train(cfg)))


@cli.command("evaluate")
@config_options(EvaluateConfig)
def evaluate_command(config_file, **options) -> None:
    """Score summaries: ROUGE, BLEU, BERTScore, similarity, length, plan coverage, faithfulness.

    Either --predictions P [--references R] (joined by Crash_ID), or --model DIR --data FILE
    (generate, then score). Exit code 3 when some rows could not be paired (see
    evaluation_problems.csv)."""
    from crashtransformer.evaluate.command import evaluate

    cfg = resolve_config(EvaluateConfig, config_file, options)
    log_run_header(cfg.seed)
    out, exit_code = evaluate(cfg)
    click.echo(str(out))
    sys.exit(exit_code)  # SystemExit passes through click's non-standalone main (an Exit would not)


@cli.command("prepare-data")
@config_options(PrepareDataConfig)
def prepare_data_command(config_file, **options) -> None:
    """Make a training file from synthetic crashes, `run` artifacts, or a raw CSV/XLSX/JSONL export:
    validated, cleaned, optionally de-duplicated and split; rejects and a data report beside it."""
    from crashtransformer.prepare.command import prepare_data

    cfg = resolve_config(PrepareDataConfig, config_file, options)
    log_run_header(cfg.seed)
    result = prepare_data(cfg)
    click.echo(result.text)
    sys.exit(result.exit_code)  # 3 when rows were rejected; SystemExit passes through click's main


@cli.command("run")
@config_options(RunConfig)
def run_command(config_file, **options) -> None:
    """Summarize crash files: graphs, plans, reranked summaries, metrics and a report in --out_dir.

    Exit codes: 0 done; 3 done, some rows rejected (see rejects.csv); 4 another run holds
    --out_dir; 2 usage error; 1 internal error."""
    from crashtransformer.run.pipeline import run

    cfg = resolve_config(RunConfig, config_file, options)
    log_run_header(cfg.seed)
    result = run(cfg)
    click.echo(str(result.report_path))
    sys.exit(result.exit_code)


@cli.command("export")
@config_options(ExportConfig)
def export_command(config_file, **options) -> None:
    """Convert a fine-tuned model to CTranslate2 (int8 by default) for `run --backend ctranslate2`."""
    from crashtransformer.infer.export import export_model

    cfg = resolve_config(ExportConfig, config_file, options)
    log_run_header(None)
    click.echo(str(export_model(cfg)))


@cli.command("report")
@config_options(ReportConfig)
def report_command(config_file, **options) -> None:
    """Rebuild report.html and crash_summaries.csv of a run's --out_dir from its artifacts."""
    from crashtransformer.run.html import rebuild_run_html

    cfg = resolve_config(ReportConfig, config_file, options)
    page, _ = rebuild_run_html(cfg.out_dir)
    click.echo(str(page))


def _bad_parameter_line(exc: click.BadParameter) -> str:
    """click's message, the option named once as typed in --help (not "'--x_y' / '--x-y'")."""
    if exc.param_hint is None and exc.param is not None and exc.param.opts:
        exc.param_hint = f"'{exc.param.opts[0]}'"
    return exc.format_message()


def _exit_interrupted() -> None:
    """Exit 130 now. Every artifact line is already whole and fsynced and the lock released (the
    `with` blocks have unwound), so skip the interpreter's teardown: it would wait for
    CTranslate2's workers to finish the batches still queued, many seconds after Ctrl-C."""
    import logging
    import os

    click.echo("interrupted", err=True)
    logging.shutdown()  # flush and close the log files
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def main() -> None:
    """Entry point: user mistakes exit 2 with one line; anything else exits 1 with the log path."""
    try:
        # `python -m crashtransformer` would show "__main__.py": name the script users type instead
        invoked = Path(sys.argv[0]).name
        cli.main(standalone_mode=False, prog_name="crashtransformer.py" if invoked == "__main__.py" else invoked)
    except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C / SIGTERM (run/signals.py), click's form too
        _exit_interrupted()
    except click.BadParameter as exc:  # a value out of range or of the wrong type: the one line says which
        click.echo(f"error: {_bad_parameter_line(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except UserError as exc:
        log.debug("user error", exc_info=True)
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # an internal failure: keep the traceback in the log file only
        log.debug("internal error", exc_info=True)
        if is_no_space(exc):  # a full disk in a write no module named (a library's): still one line, exit 5
            click.echo(f"error: {no_space_message(exc.filename, exc)}", err=True)
            sys.exit(EXIT_RETRY)
        where = f"; details in {_state['log_path']}" if _state["log_path"] else ""
        click.echo(f"internal error: {type(exc).__name__}: {exc}{where}", err=True)
        sys.exit(EXIT_INTERNAL)
