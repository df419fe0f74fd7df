"""The answer reader as a PyTorch module, for training only (bench/train_reader.py).

A BERT encoder with the shape of all-MiniLM-L6-v2 (384 wide, 12 heads, 1536 inner), its first
`layers` layers, and one output: how well the second segment answers the first. The bot never
imports this: corpus/meaning/reader.py runs the exported weights with numpy.
"""

from __future__ import annotations

import math

import torch
from torch import nn

HIDDEN = 384
HEADS = 12
INNER = 1536
EPS = 1e-12


class Layer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)
        self.attention_out = nn.Linear(HIDDEN, HIDDEN)
        self.attention_norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.inner = nn.Linear(HIDDEN, INNER)
        self.out = nn.Linear(INNER, HIDDEN)
        self.out_norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        size = HIDDEN // HEADS

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, HEADS, size).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        attention = (q @ k.transpose(-1, -2)) / math.sqrt(size) + mask
        mixed = (self.dropout(attention.softmax(-1)) @ v).transpose(1, 2).reshape(b, t, HIDDEN)
        x = self.attention_norm(x + self.dropout(self.attention_out(mixed)))
        inner = nn.functional.gelu(self.inner(x))
        return self.out_norm(x + self.dropout(self.out(inner)))


class Reader(nn.Module):
    def __init__(self, layers: int, vocabulary: int = 30522) -> None:
        super().__init__()
        self.words = nn.Embedding(vocabulary, HIDDEN)
        self.positions = nn.Embedding(512, HIDDEN)
        self.segments = nn.Embedding(2, HIDDEN)
        self.embedding_norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.layers = nn.ModuleList(Layer() for _ in range(layers))
        self.pool = nn.Linear(HIDDEN, HIDDEN)
        self.head = nn.Linear(HIDDEN, 1)
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor):
        t = ids.shape[1]
        positions = torch.arange(t).unsqueeze(0)
        x = self.words(ids) + self.positions(positions) + self.segments(segments)
        x = self.dropout(self.embedding_norm(x))
        keep = positions < lengths.unsqueeze(1)
        mask = torch.where(keep, 0.0, -1e9)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask)
        pooled = torch.tanh(self.pool(x[:, 0]))
        return self.head(self.dropout(pooled)).squeeze(-1)

    def load_minilm(self, weights: dict) -> None:
        """Start from all-MiniLM-L6-v2's weights (a safetensors dict of numpy arrays)."""

        def put(target: nn.Parameter, name: str) -> None:
            value = torch.from_numpy(weights[name].copy())
            if target.shape != value.shape:
                raise ValueError(f"{name}: {tuple(value.shape)} for {tuple(target.shape)}")
            with torch.no_grad():
                target.copy_(value)

        put(self.words.weight, "embeddings.word_embeddings.weight")
        put(self.positions.weight, "embeddings.position_embeddings.weight")
        put(self.segments.weight, "embeddings.token_type_embeddings.weight")
        put(self.embedding_norm.weight, "embeddings.LayerNorm.weight")
        put(self.embedding_norm.bias, "embeddings.LayerNorm.bias")
        names = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attention_out": "attention.output.dense",
            "attention_norm": "attention.output.LayerNorm",
            "inner": "intermediate.dense",
            "out": "output.dense",
            "out_norm": "output.LayerNorm",
        }
        for number, layer in enumerate(self.layers):
            for ours, theirs in names.items():
                module = getattr(layer, ours)
                put(module.weight, f"encoder.layer.{number}.{theirs}.weight")
                put(module.bias, f"encoder.layer.{number}.{theirs}.bias")
        put(self.pool.weight, "pooler.dense.weight")
        put(self.pool.bias, "pooler.dense.bias")
