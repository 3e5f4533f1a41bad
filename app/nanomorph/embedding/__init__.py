"""Image embeddings: the embedding job and its cache.

- :mod:`.job`: :func:`embed_images` (a job of the job protocol) → :class:`EmbeddingResult`.
- :mod:`.cache`: :class:`EmbeddingCache`, one SQLite file per project (``cache/``) or folder.
- :mod:`.models`: networks built once per (encoder, device) in this process.

Importing this package does not import torch.
"""

from nanomorph.embedding.cache import EmbeddingCache
from nanomorph.embedding.job import EmbeddingResult, embed_images
from nanomorph.embedding.models import clear_model_cache

__all__ = ["EmbeddingCache", "EmbeddingResult", "clear_model_cache", "embed_images"]
