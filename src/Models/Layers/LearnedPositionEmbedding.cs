using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// Learned absolute position embeddings (GPT-2's wpe, OPT's embed_positions): row position + <paramref name="offset"/>
/// of <paramref name="weight"/> is added to each token's hidden state. OPT's table starts 2 rows in (offset 2).
/// </summary>
public sealed class LearnedPositionEmbedding(Tensor weight, long offset = 0) : IDisposable
{
    public Tensor Weight { get; } = weight;
    public long Offset { get; } = offset;
    /// <summary>How many positions the table covers.</summary>
    public long MaxPositions => Weight.shape[0] - Offset;

    /// <summary>Adds the rows for <paramref name="positions"/> [T] to x [T, H], in place; returns x.</summary>
    public Tensor AddTo(Tensor x, Tensor positions)
    {
        using (NewDisposeScope())
            x.add_(Weight.index_select(0, Offset == 0 ? positions : positions + Offset));
        return x;
    }

    public void Dispose() => Weight.Dispose();
}
