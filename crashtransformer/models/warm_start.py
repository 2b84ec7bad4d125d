"""Warm-start a small BART from a pretrained BERT-style encoder (all-MiniLM-L6-v2 by default).

A BART trained from scratch on a few thousand narratives collapses: its encoder maps every crash
to nearly the same states and the decoder writes one generic sentence (docs/default-model.md).
A pretrained encoder already tells crashes apart, so the decoder can learn to copy units and
causes from it. BART's post-LN encoder layer is the BERT layer with other names, so the copy is
exact; the decoder's self-attention and feed-forward blocks start from BERT layers too (as in
Rothe et al., 2020, "Leveraging Pre-trained Checkpoints for Sequence Generation Tasks"), its
cross-attention from scratch.

The tokenizer stays our own cased byte-level BPE trained on the corpus (small, keeps "Unit 1"
capitalised, exports to CTranslate2 like any BART); each of its tokens starts from the mean of the
pretrained embeddings of the word pieces it spells.
"""

from __future__ import annotations

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log

# Our BPE specials and the BERT tokens that play the same part.
SPECIAL_TOKEN_MAP = {"<s>": "[CLS]", "</s>": "[SEP]", "<pad>": "[PAD]", "<unk>": "[UNK]", "<mask>": "[MASK]"}


def load_bert(encoder: str):
    """The pretrained BERT-style model and its tokenizer, from a directory or the offline MiniLM."""
    from transformers import AutoTokenizer, BertModel

    from crashtransformer.metrics.semantic import MetricSkipped, resolve_encoder

    try:
        location = resolve_encoder(encoder).location
    except MetricSkipped as exc:
        raise UserError(f"--encoder_init {encoder}: {exc}") from exc
    model = BertModel.from_pretrained(location, add_pooling_layer=False)
    if model.config.model_type != "bert":
        raise UserError(f"--encoder_init {encoder}: a BERT-style encoder is needed, found {model.config.model_type}")
    return model, AutoTokenizer.from_pretrained(location)


def bart_config_like(bert_config, tokenizer, encoder_layers: int, decoder_layers: int):
    """A BartConfig with the encoder's width, heads and feed-forward size."""
    from transformers import BartConfig

    if not 1 <= encoder_layers <= bert_config.num_hidden_layers:
        raise UserError(f"--encoder_layers must be 1..{bert_config.num_hidden_layers} for this encoder")
    if not 1 <= decoder_layers <= bert_config.num_hidden_layers:
        raise UserError(f"--decoder_layers must be 1..{bert_config.num_hidden_layers} for this encoder")
    return BartConfig(
        vocab_size=len(tokenizer), d_model=bert_config.hidden_size,
        encoder_layers=encoder_layers, decoder_layers=decoder_layers,
        encoder_attention_heads=bert_config.num_attention_heads, decoder_attention_heads=bert_config.num_attention_heads,
        encoder_ffn_dim=bert_config.intermediate_size, decoder_ffn_dim=bert_config.intermediate_size,
        max_position_embeddings=bert_config.max_position_embeddings,
        activation_function=bert_config.hidden_act,
        scale_embedding=False,  # BERT adds unscaled word and position embeddings
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id, forced_eos_token_id=tokenizer.eos_token_id)


def transfer_embeddings(tokenizer, bert_tokenizer, bert_embeddings):
    """One row per BPE token: the mean embedding of the BERT word pieces that spell it."""
    import torch

    rows = torch.empty(len(tokenizer), bert_embeddings.shape[1])
    bert_vocab = bert_tokenizer.get_vocab()
    unk = bert_vocab[bert_tokenizer.unk_token]
    for token, index in tokenizer.get_vocab().items():
        if token in SPECIAL_TOKEN_MAP:
            ids = [bert_vocab[SPECIAL_TOKEN_MAP[token]]]
        else:
            text = tokenizer.convert_tokens_to_string([token])
            ids = bert_tokenizer.convert_tokens_to_ids(bert_tokenizer.tokenize(text.strip())) or [unk]
            if not text.startswith(" ") and text.strip():  # inside a word: BERT's "##" continuation piece
                first = bert_tokenizer.tokenize(text.strip())[:1]
                continuation = bert_vocab.get("##" + first[0]) if first else None
                ids = [continuation] + ids[1:] if continuation is not None else ids
        rows[index] = bert_embeddings[ids].mean(dim=0)
    return rows


def _copy_attention(target, bert_attention) -> None:
    target.q_proj.load_state_dict(bert_attention.self.query.state_dict())
    target.k_proj.load_state_dict(bert_attention.self.key.state_dict())
    target.v_proj.load_state_dict(bert_attention.self.value.state_dict())
    target.out_proj.load_state_dict(bert_attention.output.dense.state_dict())


def _copy_layer(target, bert_layer) -> None:
    """A BERT layer into a BART encoder or decoder layer (the decoder's cross-attention is untouched)."""
    _copy_attention(target.self_attn, bert_layer.attention)
    target.self_attn_layer_norm.load_state_dict(bert_layer.attention.output.LayerNorm.state_dict())
    target.fc1.load_state_dict(bert_layer.intermediate.dense.state_dict())
    target.fc2.load_state_dict(bert_layer.output.dense.state_dict())
    target.final_layer_norm.load_state_dict(bert_layer.output.LayerNorm.state_dict())


def _copy_embeddings(stack, bert) -> None:
    """Positions (token type 0 folded in, BART's offset of 2 kept) and the embedding LayerNorm."""
    import torch

    embeddings = bert.embeddings
    positions = embeddings.position_embeddings.weight + embeddings.token_type_embeddings.weight[0]
    with torch.no_grad():
        stack.embed_positions.weight[2:2 + positions.shape[0]] = positions
    stack.layernorm_embedding.load_state_dict(embeddings.LayerNorm.state_dict())


def warm_start(tokenizer, encoder: str, encoder_layers: int, decoder_layers: int, seed: int):
    """A BartForConditionalGeneration whose weights start from the BERT-style `encoder`."""
    import torch
    from transformers import BartForConditionalGeneration

    bert, bert_tokenizer = load_bert(encoder)
    config = bart_config_like(bert.config, tokenizer, encoder_layers, decoder_layers)
    torch.manual_seed(seed)
    model = BartForConditionalGeneration(config)
    with torch.no_grad():
        model.model.shared.weight.copy_(transfer_embeddings(tokenizer, bert_tokenizer,
                                                            bert.embeddings.word_embeddings.weight))
    layers = bert.encoder.layer
    for stack, count in ((model.model.encoder, encoder_layers), (model.model.decoder, decoder_layers)):
        _copy_embeddings(stack, bert)
        for target, source in zip(stack.layers, layers[:count]):
            _copy_layer(target, source)
    log.info("warm-started from %s: encoder layers 1-%d, decoder layers 1-%d (cross-attention new)",
             encoder, encoder_layers, decoder_layers)
    return model
