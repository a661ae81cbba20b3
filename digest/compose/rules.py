"""Keyword rules for sections and include/exclude filters. Pure.

A keyword is a word or phrase matched as whole words in any case, the last word allowing a plural or
-ing/-ed ending ("language model" matches "Language Models"; "LLM" does not match "LLMOps"), or `/a regex/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=512)
def compile_keyword(keyword: str) -> re.Pattern[str]:
    if len(keyword) > 2 and keyword.startswith("/") and keyword.endswith("/"):
        return re.compile(keyword[1:-1], re.IGNORECASE)
    words = [re.escape(w) for w in keyword.split()]
    # Whole words; the last may take a plural or -ing/-ed ending ("model" matches "models").
    return re.compile(r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?:s|es|ing|ed)?(?![\w-])", re.IGNORECASE)


def first_match(keywords: Sequence[str], texts: Iterable[str | None]) -> str | None:
    """The first keyword (in the given order) found in any of the texts, as written in the config."""
    joined = "\n".join(t for t in texts if t)
    if not joined:
        return None
    for keyword in keywords:
        if compile_keyword(keyword).search(joined):
            return keyword.strip("/")
    return None


def matches_any(names: Sequence[str], values: Iterable[str | None]) -> bool:
    """Authors or source names: a keyword rule against each value separately."""
    return any(first_match(names, [v]) for v in values if v)


@dataclass(frozen=True)
class Section:
    name: str
    keywords: tuple[str, ...]


# The default topic sections for ML digests; config.example.toml lists the same (a test keeps them equal).
DEFAULT_SECTIONS: tuple[Section, ...] = (
    Section("LLMs & reasoning", ("language model", "LLM", "reasoning", "chain of thought", "chain-of-thought",
                                 "test-time compute", "in-context learning", "transformer", "tokenizer",
                                 "pre-training", "pretraining", "instruction tuning", "BERT", "GPT")),
    Section("Agents", ("agent", "agentic", "tool use", "tool-use", "web navigation", "planning", "multi-agent",
                       "computer use", "GUI")),
    Section("Efficiency", ("quantization", "pruning", "distillation", "sparsity", "mixture of experts", "MoE",
                           "speculative decoding", "efficient", "efficiency", "inference", "compression",
                           "low-rank", "LoRA", "FlashAttention", "KV cache", "latency")),
    Section("Vision", ("vision", "image", "video", "visual", "segmentation", "object detection", "ViT",
                       "convolutional", "ResNet", "CVPR", "multimodal", "VLM")),
    Section("Generative models", ("diffusion", "generative", "GAN", "VAE", "autoencoder", "flow matching",
                                  "text-to-image", "synthesis")),
    Section("Alignment & safety", ("alignment", "RLHF", "preference", "DPO", "reward model", "safety",
                                   "interpretability", "jailbreak", "red teaming", "harmful", "robustness")),
    Section("Theory", ("theory", "theoretical", "theorem", "proof", "convergence", "generalization bound",
                       "sample complexity", "optimization landscape", "scaling law")),
)
OTHER_SECTION = "More"


def assign_section(sections: Sequence[Section], texts: Sequence[str | None]) -> tuple[str, str | None]:
    """(section name, the keyword that put it there); unmatched things go to the final section."""
    for section in sections:
        hit = first_match(section.keywords, texts)
        if hit:
            return section.name, hit
    return OTHER_SECTION, None
