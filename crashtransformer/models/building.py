"""Build a new small seq2seq model offline: a tokenizer trained on your corpus, a BART/T5/Pegasus
config of a preset size, optionally warm-started from a pretrained encoder (`init-model`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log

# Preset sizes for init-model. tiny: tests (builds in seconds); small: a CPU-trainable model
# that still fits the 25 MB shipped-model budget in fp16; base-like: bart-base-shaped.
SIZES = {
    "tiny": dict(d_model=64, layers=2, heads=2, ffn=128, vocab=1000),
    "small": dict(d_model=256, layers=3, heads=4, ffn=1024, vocab=8000),
    "base-like": dict(d_model=768, layers=6, heads=12, ffn=3072, vocab=16000),
}
MIN_VOCAB_SIZE = 300  # byte-level BPE alone holds 256 bytes + specials; smaller fails inside tokenizers
MAX_POSITIONS = 1024  # longest input the learned position tables of BART/Pegasus allow


def _train_bpe_tokenizer(texts: Iterable[str], vocab_size: int):
    """Byte-level BPE, as BART uses; ids 0-3 are <s> <pad> </s> <unk>, as in facebook/bart-*."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartTokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    merges = [tuple(pair) if isinstance(pair, list) else tuple(pair.split(" "))
              for pair in json.loads(bpe.to_str())["model"]["merges"]]
    return BartTokenizer(vocab=bpe.get_vocab(), merges=merges)


def _train_unigram_vocab(texts: Iterable[str], vocab_size: int, specials: list[str]) -> list[tuple[str, float]]:
    """SentencePiece-style unigram vocabulary with `specials` first, as T5 and Pegasus expect."""
    from tokenizers import SentencePieceUnigramTokenizer

    unigram = SentencePieceUnigramTokenizer()
    unigram.train_from_iterator(texts, vocab_size=vocab_size, special_tokens=specials,
                                unk_token="<unk>", show_progress=False)
    pieces = json.loads(unigram.to_str())["model"]["vocab"]
    return [(piece, 0.0 if piece in specials else float(score)) for piece, score in pieces]


def train_tokenizer(arch: str, texts: list[str], vocab_size: int):
    """A tokenizer of the architecture's own class, trained on `texts`."""
    from transformers import PegasusTokenizer, T5Tokenizer

    if arch == "bart":
        return _train_bpe_tokenizer(texts, vocab_size)
    if arch == "t5":
        return T5Tokenizer(vocab=_train_unigram_vocab(texts, vocab_size, ["<pad>", "</s>", "<unk>"]), extra_ids=0)
    if arch == "pegasus":
        specials = ["<pad>", "</s>", "<mask_1>", "<mask_2>", "<unk>"]
        return PegasusTokenizer(vocab=_train_unigram_vocab(texts, vocab_size, specials), offset=0)
    raise UserError(f"unknown --arch {arch!r}: use bart, t5 or pegasus")


def model_config(arch: str, size: str, tokenizer, encoder_layers: int | None = None,
                 decoder_layers: int | None = None):
    """A transformers config for `arch` at preset `size`, wired to the tokenizer's special ids."""
    import transformers

    s = SIZES[size]
    encoder_layers, decoder_layers = encoder_layers or s["layers"], decoder_layers or s["layers"]
    vocab = len(tokenizer)
    ids = dict(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if arch == "t5":
        return transformers.T5Config(
            vocab_size=vocab, d_model=s["d_model"], d_kv=s["d_model"] // s["heads"], d_ff=s["ffn"],
            num_layers=encoder_layers, num_decoder_layers=decoder_layers, num_heads=s["heads"],
            decoder_start_token_id=tokenizer.pad_token_id, tie_word_embeddings=True, **ids)
    common = dict(
        vocab_size=vocab, d_model=s["d_model"], encoder_layers=encoder_layers, decoder_layers=decoder_layers,
        encoder_attention_heads=s["heads"], decoder_attention_heads=s["heads"],
        encoder_ffn_dim=s["ffn"], decoder_ffn_dim=s["ffn"], max_position_embeddings=MAX_POSITIONS,
        forced_eos_token_id=tokenizer.eos_token_id, **ids)
    if arch == "bart":
        return transformers.BartConfig(bos_token_id=tokenizer.bos_token_id,
                                       decoder_start_token_id=tokenizer.eos_token_id, **common)
    return transformers.PegasusConfig(decoder_start_token_id=tokenizer.pad_token_id, **common)


def default_generation_config(config):
    """Generation defaults written with every model we build or train (run may override)."""
    from transformers import GenerationConfig

    return GenerationConfig(
        max_new_tokens=128,  # summaries are short; the seed's --max_target_length default
        num_beams=4,  # beam search: the usual choice for summarization
        no_repeat_ngram_size=3,  # stops the loops small models fall into
        early_stopping=True,
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=getattr(config, "bos_token_id", None),
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        forced_eos_token_id=getattr(config, "forced_eos_token_id", None),
    )


def build_model(arch: str, size: str, texts: list[str], output: str | os.PathLike,
                vocab_size: int | None = None, seed: int = 42, encoder_init: str | None = None,
                encoder_layers: int | None = None, decoder_layers: int | None = None) -> Path:
    """Train a tokenizer on `texts`, build a model, save both to `output`.

    The weights are random, or with `encoder_init` warm-started from a pretrained BERT-style
    encoder (bart only; its width replaces the size preset's)."""
    import torch
    import transformers

    if size not in SIZES:
        raise UserError(f"unknown --size {size!r}: use {', '.join(SIZES)}")
    if not texts:
        raise UserError("the corpus holds no text to train a tokenizer on")
    if encoder_init and arch != "bart":
        raise UserError("--encoder_init builds a bart model: add --arch bart")
    if vocab_size is not None and vocab_size < MIN_VOCAB_SIZE:
        raise UserError(f"--vocab_size {vocab_size}: a tokenizer needs at least {MIN_VOCAB_SIZE} entries "
                        "(its special tokens and the bytes or characters of the corpus)")
    vocab_size = vocab_size or SIZES[size]["vocab"]
    tokenizer = train_tokenizer(arch, texts, vocab_size)
    if encoder_init:
        from crashtransformer.models.warm_start import warm_start

        layers = SIZES[size]["layers"]
        model = warm_start(tokenizer, encoder_init, encoder_layers or layers, decoder_layers or layers, seed)
        config = model.config
    else:
        config = model_config(arch, size, tokenizer, encoder_layers, decoder_layers)
        torch.manual_seed(seed)
        model = transformers.AutoModelForSeq2SeqLM.from_config(config)
    model.generation_config = default_generation_config(config)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)  # safetensors by default
    tokenizer.save_pretrained(out)
    log.info("built %s-%s: %.2fM parameters, vocabulary %d, written to %s",
             arch, size, model.num_parameters() / 1e6, len(tokenizer), out)
    return out


# Encoder preset for tests and quick trials: a BERT this small trains in seconds on a CPU.
TINY_ENCODER = dict(hidden=32, layers=2, heads=2, ffn=64, max_positions=512)


def build_encoder(texts: list[str], output: str | os.PathLike, vocab_size: int = 1000, seed: int = 42) -> Path:
    """A tiny randomly initialised BERT encoder with a WordPiece tokenizer trained on `texts`.

    Saved as a plain BertModel, like a pretrained encoder (MiniLM, bert-base): loading it for
    classification or ner adds a new head, exactly as with a hub model."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizer

    if not texts:
        raise UserError("the corpus holds no text to train a tokenizer on")
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=1, show_progress=False)
    tokenizer = BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=True)
    s = TINY_ENCODER
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=s["hidden"], num_hidden_layers=s["layers"],
                        num_attention_heads=s["heads"], intermediate_size=s["ffn"],
                        max_position_embeddings=s["max_positions"], pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = BertModel(config)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    log.info("built a tiny encoder: %.2fM parameters, vocabulary %d, written to %s",
             model.num_parameters() / 1e6, len(tokenizer), out)
    return out
