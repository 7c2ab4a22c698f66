using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// The 2-D rotary of Qwen2-VL's vision tower: half of each head's rotary frequencies turn by the patch's row, the
/// other half by its column (transformers' VisionRotaryEmbedding + rot_pos_emb), in the patch order of the image
/// processor (merge_size x merge_size blocks contiguous), repeated for each temporal frame.
/// </summary>
public static class VisionRotaryEmbedding
{
    /// <summary>cos and sin [t*h*w, headDim] (rotate-half layout) for a grid of t x h x w patches.</summary>
    public static (Tensor Cos, Tensor Sin) ForGrid(int t, int h, int w, int mergeSize, int headDim, double theta, ScalarType dtype, Device device)
    {
        int dim = headDim / 2; // the frequencies of one axis: dim / 2 of them
        var inv = new float[dim / 2];
        for (int i = 0; i < inv.Length; i++) inv[i] = (float)(1.0 / Math.Pow(theta, (double)(2 * i) / dim));
        int n = h * w, m = mergeSize;
        var freqs = new float[t * n * dim];
        int row = 0;
        for (int f = 0; f < t; f++)
            for (int bh = 0; bh < h / m; bh++)
                for (int bw = 0; bw < w / m; bw++)
                    for (int ih = 0; ih < m; ih++)
                        for (int iw = 0; iw < m; iw++, row++)
                        {
                            int y = bh * m + ih, x = bw * m + iw, o = row * dim;
                            for (int i = 0; i < inv.Length; i++)
                            {
                                freqs[o + i] = y * inv[i];
                                freqs[o + inv.Length + i] = x * inv[i];
                            }
                        }
        using var scope = NewDisposeScope();
        var half = torch.tensor(freqs, [t * n, dim]);
        var emb = torch.cat([half, half], -1).to(device);
        return (emb.cos().to_type(dtype).MoveToOuterDisposeScope(), emb.sin().to_type(dtype).MoveToOuterDisposeScope());
    }
}
