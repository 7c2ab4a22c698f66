using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Pixtral's 2-D ("axial") rotary (transformers' PixtralVisionRotaryEmbedding, vLLM's PixtralRotaryEmbedding): of the
/// head's head_dim / 2 frequencies 1 / theta^(2i / head_dim), the even ones turn by the patch's row and the odd ones by
/// its column; the angles are laid out [row angles, column angles] twice (rotate-half layout) over the whole head.
/// </summary>
public static class PixtralRotaryEmbedding
{
    /// <summary>cos and sin [rows * cols, headDim] for a grid of patches in row-major order, in <paramref name="dtype"/>.</summary>
    public static (Tensor Cos, Tensor Sin) ForGrid(int rows, int cols, int headDim, double theta, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        // As transformers computes them: float32 throughout, 1.0 / theta ** (arange(0, dim, 2) / dim).
        var exponents = torch.arange(0, headDim, 2, ScalarType.Float32).div(Scalars.Of((double)headDim));
        var inv = torch.full([headDim / 2], Scalars.Of(theta), ScalarType.Float32).pow(exponents).reciprocal();
        var invRows = inv.index_select(0, torch.arange(0, headDim / 2, 2, ScalarType.Int64));
        var invCols = inv.index_select(0, torch.arange(1, headDim / 2, 2, ScalarType.Int64));
        var r = torch.arange(rows, ScalarType.Float32).repeat_interleave(cols).unsqueeze(1);  // patch row
        var c = torch.arange(cols, ScalarType.Float32).repeat(rows).unsqueeze(1);              // patch column
        var half = torch.cat([r * invRows.unsqueeze(0), c * invCols.unsqueeze(0)], 1);
        var emb = torch.cat([half, half], 1).to(device);
        return (emb.cos().to_type(dtype).MoveToOuterDisposeScope(), emb.sin().to_type(dtype).MoveToOuterDisposeScope());
    }
}
