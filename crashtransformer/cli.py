"""The click command group. Each command parses options into a config and calls one function;
there is no logic here beyond that."""

from __future__ import annotations

import sys

import click

from crashtransformer import __version__
from crashtransformer.config import InitModelConfig, config_options, resolve_config, save_config
from crashtransformer.errors import EXIT_INTERNAL, EXIT_USAGE, UserError
from crashtransformer.logs import log, log_run_header, setup_logging

_state: dict = {"log_path": None}


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
    from crashtransformer.corpus import read_corpus_texts
    from crashtransformer.modeling import build_model

    cfg = resolve_config(InitModelConfig, config_file, options)
    log_run_header(cfg.seed)
    if not cfg.output:
        raise UserError("missing --output DIR: where to write the new model")
    texts = read_corpus_texts(cfg.corpus, cfg.text_column, cfg.max_corpus_rows)
    log.info("training a %s tokenizer on %d texts", cfg.arch, len(texts))
    out = build_model(cfg.arch, cfg.size, texts, cfg.output, cfg.vocab_size, cfg.seed)
    save_config(cfg, out, "init_model_config.json")
    click.echo(str(out))


def main() -> None:
    """Entry point: user mistakes exit 2 with one line; anything else exits 1 with the log path."""
    try:
        cli.main(standalone_mode=False, prog_name="crashtransformer.py")
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except UserError as exc:
        log.debug("user error", exc_info=True)
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # an internal failure: keep the traceback in the log file only
        log.debug("internal error", exc_info=True)
        where = f"; details in {_state['log_path']}" if _state["log_path"] else ""
        click.echo(f"internal error: {type(exc).__name__}: {exc}{where}", err=True)
        sys.exit(EXIT_INTERNAL)
