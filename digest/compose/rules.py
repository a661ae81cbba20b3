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
    Section(
        "LLMs & reasoning",
        (
            "language model",
            "LLM",
            "reasoning",
            "chain of thought",
            "chain-of-thought",
            "test-time compute",
            "in-context learning",
            "transformer",
            "tokenizer",
            "pre-training",
            "pretraining",
            "instruction tuning",
            "BERT",
            "GPT",
        ),
    ),
    Section(
        "Agents",
        (
            "agent",
            "agentic",
            "tool use",
            "tool-use",
            "web navigation",
            "planning",
            "multi-agent",
            "computer use",
            "GUI",
        ),
    ),
    Section(
        "Efficiency",
        (
            "quantization",
            "pruning",
            "distillation",
            "sparsity",
            "mixture of experts",
            "MoE",
            "speculative decoding",
            "efficient",
            "efficiency",
            "inference",
            "compression",
            "low-rank",
            "LoRA",
            "FlashAttention",
            "KV cache",
            "latency",
        ),
    ),
    Section(
        "Vision",
        (
            "vision",
            "image",
            "video",
            "visual",
            "segmentation",
            "object detection",
            "ViT",
            "convolutional",
            "ResNet",
            "CVPR",
            "multimodal",
            "VLM",
        ),
    ),
    Section(
        "Generative models",
        ("diffusion", "generative", "GAN", "VAE", "autoencoder", "flow matching", "text-to-image", "synthesis"),
    ),
    Section(
        "Alignment & safety",
        (
            "alignment",
            "RLHF",
            "preference",
            "DPO",
            "reward model",
            "safety",
            "interpretability",
            "jailbreak",
            "red teaming",
            "harmful",
            "robustness",
        ),
    ),
    Section(
        "Theory",
        (
            "theory",
            "theoretical",
            "theorem",
            "proof",
            "convergence",
            "generalization bound",
            "sample complexity",
            "optimization landscape",
            "scaling law",
        ),
    ),
)
OTHER_SECTION = "More"


# Where a keyword is found says how much it tells of the topic: a title most, an abstract (a post's summary and
# excerpt, a listing's note) next, the headings a paper was mentioned under least: a newsletter's "Agents"
# heading sits over whatever the week brought, and a title that says "microcontroller" outweighs an abstract
# that says "efficient".
TITLE_WEIGHT = 3.0
BODY_WEIGHT = 2.0
CONTEXT_WEIGHT = 0.5
# A phrase ("software testing", "tool use") is specific where one word ("GUI", "efficient") is often incidental.
PHRASE_WEIGHT = 2.0
WORD_WEIGHT = 1.0


def keyword_weight(keyword: str) -> float:
    """A phrase of two words or more (hyphens join words too: "chain-of-thought") weighs more than a word; a
    regex counts as a word."""
    if len(keyword) > 2 and keyword.startswith("/") and keyword.endswith("/"):
        return WORD_WEIGHT
    return PHRASE_WEIGHT if len(re.findall(r"[^\s-]+", keyword)) > 1 else WORD_WEIGHT


def section_score(section: Section, *, title: str | None, body: str, context: str) -> tuple[float, str | None]:
    """The section's score for one card, and the keyword that gave it most (first in config order on a tie).
    Each keyword counts once per part it is found in, by the part's weight times its own."""
    score, best, best_points = 0.0, None, 0.0
    for keyword in section.keywords:
        pattern = compile_keyword(keyword)
        points = sum(
            weight
            for text, weight in ((title, TITLE_WEIGHT), (body, BODY_WEIGHT), (context, CONTEXT_WEIGHT))
            if text and pattern.search(text)
        )
        if points:
            points *= keyword_weight(keyword)
            score += points
            if points > best_points:
                best, best_points = keyword.strip("/"), points
    return score, best


def assign_section(
    sections: Sequence[Section],
    *,
    title: str | None,
    body: Iterable[str | None] = (),
    context: Iterable[str | None] = (),
) -> tuple[str, str | None]:
    """(section name, the keyword that weighed most there): every section is scored (section_score) and the
    best wins, the first in config order on a tie; a card no section's keywords match goes to the final one.
    `body`: the abstract, or a post's summary and excerpt; `context`: the headings it was mentioned under."""
    body_text = "\n".join(t for t in body if t)
    context_text = "\n".join(t for t in context if t)
    if not (title or body_text or context_text):
        return OTHER_SECTION, None
    chosen, hit, top = OTHER_SECTION, None, 0.0
    for section in sections:
        score, keyword = section_score(section, title=title, body=body_text, context=context_text)
        if score > top:
            chosen, hit, top = section.name, keyword, score
    return chosen, hit
