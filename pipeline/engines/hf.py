"""The reference engine: the MarianMT model in PyTorch through `transformers`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model import load_weights
from .base import Batch, Output

# Rescoring materialises (rows, length, vocabulary) logits; keep each chunk
# under about this many floats (256 MB).
_RESCORE_FLOATS = 64 << 20


# Generation settings each request sets (from the model's own, see Translator._request).
_SET_BY_REQUEST = {
    "max_length",
    "min_length",
    "num_beams",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "length_penalty",
    "bad_words_ids",
    "forced_eos_token_id",
    "transformers_version",
}


class TransformersEngine:
    name = "transformers"
    backend = ""  # no CPU code path is chosen: torch's own dispatch

    def __init__(self, model, tokenizer, device: str, precision: str):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.precision = precision
        self.pad = model.config.pad_token_id
        self.eos = model.config.eos_token_id
        # No forced </s> at the length limit (OPUS-MT's configs ask for one):
        # a cut-off output must show as one. generate() fills unset fields of
        # a request from the model's config, so drop it there.
        model.generation_config.forced_eos_token_id = None
        # The model's own settings (start token, suppressed <pad>), without
        # the lengths and beams that each request sets.
        self.base_config = {
            key: value for key, value in model.generation_config.to_diff_dict().items() if key not in _SET_BY_REQUEST
        }

    @classmethod
    def load(cls, name: str, tokenizer, device: str, precision: str, threads: int | None) -> TransformersEngine:
        import torch

        if threads:
            torch.set_num_threads(threads)
        model = load_weights(name, dtype=getattr(torch, precision))
        model.to(device).eval()
        return cls(model, tokenizer, device, precision)

    def generate(self, batches: Iterable[Batch]) -> Iterator[list[Output]]:
        for ids, request in batches:
            yield self._generate(ids, request)

    def _generate(self, ids: list[list[int]], request) -> list[Output]:
        import torch
        from transformers import GenerationConfig

        config = GenerationConfig(
            **self.base_config,
            do_sample=False,
            num_beams=request.beams,
            # Lengths of the decoder's sequence, its start token included.
            min_length=request.min_new_tokens + 1,
            max_length=request.max_new_tokens + 1,
            no_repeat_ngram_size=request.no_repeat_ngram_size,
            repetition_penalty=request.repetition_penalty,
            length_penalty=request.length_penalty,
            # <pad> is never output (OPUS-MT's configs ban it; CTranslate2 never emits it).
            bad_words_ids=[[self.pad], *map(list, request.bad_words_ids)],
        )
        inputs = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            sequences = self.model.generate(**inputs, generation_config=config)
            logprobs = self._mean_logprobs(inputs, sequences, request.min_new_tokens)
        outputs = []
        for row, logprob in zip(sequences.tolist(), logprobs, strict=True):
            tokens = row[1:]  # after the decoder start token
            finished = self.eos in tokens
            tokens = tokens[: tokens.index(self.eos)] if finished else tokens
            outputs.append(Output(tuple(t for t in tokens if t != self.pad), logprob, finished))
        return outputs

    def _mean_logprobs(self, inputs, sequences, min_new_tokens: int) -> list[float]:
        """Score the chosen outputs with one teacher-forced pass.

        ``generate`` can return per-step scores, but it keeps a vocabulary-wide
        row per step and beam (gigabytes for a long batch); rescoring costs one
        parallel decoder pass and little memory. Scores are under the
        distribution the search used, as CTranslate2 reports them: <pad> is
        never a candidate, nor </s> before the minimum length.
        """
        import torch

        decoder_input, target = sequences[:, :-1], sequences[:, 1:]
        # Count tokens up to and including the first </s>; padding after it is not output.
        ended = (target == self.eos).long().cumsum(dim=1)
        mask = (ended == 0) | ((ended == 1) & (target == self.eos))
        rows = max(1, _RESCORE_FLOATS // max(1, target.shape[1] * self.model.config.vocab_size))
        means = []
        for start in range(0, len(sequences), rows):
            chunk = slice(start, start + rows)
            logits = self.model(
                input_ids=inputs["input_ids"][chunk],
                attention_mask=inputs["attention_mask"][chunk],
                decoder_input_ids=decoder_input[chunk],
            ).logits.float()
            logits[..., self.pad] = float("-inf")
            logits[:, :min_new_tokens, self.eos] = float("-inf")
            chosen = torch.log_softmax(logits, dim=-1).gather(-1, target[chunk].unsqueeze(-1)).squeeze(-1)
            counted = mask[chunk]
            total = torch.where(counted, chosen, torch.zeros_like(chosen)).sum(1)  # padding scores -inf
            means += (total / counted.sum(1).clamp(min=1)).tolist()
        return means
