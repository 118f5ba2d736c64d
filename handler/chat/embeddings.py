"""Sentence embeddings: HuggingFace feature extraction, or a deterministic offline hash."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Protocol

import aiohttp

from handler.chat.huggingface import HuggingFace, MissingKey

DIMENSIONS = 384  # all-MiniLM-L6-v2
_WORDS = re.compile(r"[a-z0-9_]+")


class Embedder(Protocol):
    async def embed(self, text: str) -> list[float]: ...


class EmbeddingError(Exception):
    pass


class HuggingFaceEmbedder:
    """Feature extraction on HuggingFace's router (HF_EMBED_MODEL)."""

    def __init__(self, hf: HuggingFace) -> None:
        settings = hf.settings
        self._hf = hf
        self._path = f"/hf-inference/models/{settings.hf_embed_model}/pipeline/feature-extraction"
        self._timeout = aiohttp.ClientTimeout(
            total=settings.hf_read_timeout, sock_connect=settings.hf_connect_timeout
        )

    async def embed(self, text: str) -> list[float]:
        try:
            async with self._hf.post(self._path, {"inputs": text}, self._timeout) as resp:
                if resp.status != 200:
                    raise EmbeddingError(f"feature extraction answered HTTP {resp.status}")
                vector = await resp.json(content_type=None)
        except MissingKey:
            raise EmbeddingError("no HuggingFace key: nothing was sent") from None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise EmbeddingError(f"feature extraction failed: {type(exc).__name__}") from exc
        # A single input may come back as [[...]] (one row per input).
        if isinstance(vector, list) and vector and isinstance(vector[0], list):
            vector = vector[0]
        if not isinstance(vector, list) or len(vector) != DIMENSIONS:
            raise EmbeddingError("feature extraction returned an unexpected shape")
        return [float(v) for v in vector]


class HashingEmbedder:
    """Words hashed into signed buckets, L2-normalised: texts sharing words score high.

    Deterministic and offline, for development and tests; not semantic.
    """

    async def embed(self, text: str) -> list[float]:
        vector = [0.0] * DIMENSIONS
        for word in _WORDS.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % DIMENSIONS
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]
