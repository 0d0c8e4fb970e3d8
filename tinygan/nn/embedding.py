"""Embedding: a table of learned vectors looked up by integer index (class labels in cGANs)."""

from __future__ import annotations

from tinygan.nn import init
from tinygan.nn._param import empty_parameter, positive_int
from tinygan.nn.module import Module
from tinygan.ops.nn import embedding


class Embedding(Module):
    """y[..., :] = weight[indices[...]], weight of shape (num_embeddings, embedding_dim) ~ N(0, 1)."""

    def __init__(self, num_embeddings, embedding_dim, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.weight = empty_parameter((num_embeddings, embedding_dim), device, dtype)
        init.normal_(self.weight)

    def forward(self, indices):
        return embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
