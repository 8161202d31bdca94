"""first_layer_qkv / finish_at_last_position against torch's own MultiheadAttention and forward."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ccbounds.adapters import merge_partial_sums, partial_sums  # noqa: E402
from ccbounds.errors import InvalidInputError  # noqa: E402
from ccbounds.models import TransformerConfig, build_model, finish_at_last_position, first_layer_qkv  # noqa: E402


@pytest.mark.parametrize("norm_first", [False, True])
def test_split_softmax_and_finish_reproduce_the_model(norm_first):
    torch.manual_seed(1)
    m = build_model(TransformerConfig(vocab_size=5, num_classes=2, max_len=9, d_model=12, heads=3,
                                      norm_first=norm_first)).eval().double()
    tokens = torch.randint(0, 5, (7, 9))
    parts = first_layer_qkv(m, tokens)
    alice, bob = [0, 2, 3, 5], [1, 4, 6, 7, 8]
    pa = partial_sums(parts.q, parts.k[:, :, alice], parts.v[:, :, alice])
    pb = partial_sums(parts.q, parts.k[:, :, bob], parts.v[:, :, bob])
    merged = merge_partial_sums([pa, pb])
    avg = merged.num / merged.den[..., None]  # (B, H, d_v)
    layer = m.layers[0]
    with torch.no_grad():
        _, w = layer.self_attn(parts.x, parts.x, parts.x, need_weights=True, average_attn_weights=False)
    own = torch.einsum("bht,bhte->bhe", w[:, :, -1], parts.v)
    assert torch.allclose(avg, own, atol=1e-10)
    with torch.no_grad():
        assert torch.allclose(finish_at_last_position(m, parts.h0[:, -1], avg), m(tokens), atol=1e-10)


def test_two_layers_refused():
    m = build_model(TransformerConfig(vocab_size=4, num_classes=2, max_len=4, d_model=8, heads=2, layers=2))
    with pytest.raises(InvalidInputError, match="one-layer"):
        first_layer_qkv(m, torch.zeros(1, 4, dtype=torch.long))
