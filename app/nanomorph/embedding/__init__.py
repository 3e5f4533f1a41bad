"""Image embeddings: the embedding job and its cache.

- :mod:`.job`: :func:`embed_images` (a job of the job protocol) → :class:`EmbeddingResult`;
  :func:`embed_plane` for one array (a region of an image).
- :mod:`.cache`: :class:`EmbeddingCache`, one SQLite file per project (``cache/``) or folder.
- :mod:`.models`: networks built once per (encoder, device) in this process.

Importing this package does not import torch.
"""

from nanomorph.embedding.cache import EmbeddingCache
from nanomorph.embedding.job import EmbeddingResult, embed_images, embed_plane
from nanomorph.embedding.models import clear_model_cache

__all__ = ["EmbeddingCache", "EmbeddingResult", "clear_model_cache", "embed_images",
           "embed_plane"]
