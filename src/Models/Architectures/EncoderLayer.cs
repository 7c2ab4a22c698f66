using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// A post-LN BERT encoder layer: bidirectional multi-head self-attention, residual + LayerNorm, then
/// dense-activation-dense, residual + LayerNorm. Runs over a flat batch; attention pads sequences per <see cref="EncoderAttentionBatch"/> group.
/// </summary>
public sealed class EncoderLayer : IDisposable
{
    public required Linear Query { get; init; }
    public required Linear Key { get; init; }
    public required Linear Value { get; init; }
    public required Linear AttentionOutput { get; init; }
    public required LayerNorm AttentionNorm { get; init; }
    public required Linear Intermediate { get; init; }
    public required Linear Output { get; init; }
    public required LayerNorm OutputNorm { get; init; }
    public required int NumHeads { get; init; }
    public required int HeadDim { get; init; }
    public required Func<Tensor, Tensor> Activation { get; init; }

    /// <param name="x">[T, H] flat batch</param><param name="batch">how its sequences are padded for attention</param>
    public Tensor Forward(Tensor x, EncoderAttentionBatch batch)
    {
        using var scope = NewDisposeScope();
        long T = x.shape[0], H = NumHeads * HeadDim;
        var q = Query.Forward(x);
        var k = Key.Forward(x);
        var v = Value.Forward(x);
        var attn = torch.empty([T, H], x.dtype, x.device);
        double scale = 1.0 / Math.Sqrt(HeadDim);
        foreach (var g in batch.Groups)
        {
            using var inner = NewDisposeScope();
            long B = g.BatchSize, L = g.MaxLen;
            Tensor Heads(Tensor t) => t.index_select(0, g.Gather).view(B, L, NumHeads, HeadDim).permute(0, 2, 1, 3); // [B, heads, L, D]
            var scores = torch.matmul(Heads(q), Heads(k).transpose(-1, -2)) * scale + g.Mask;
            var probs = torch.softmax(scores, -1, ScalarType.Float32).to_type(x.dtype);
            var o = torch.matmul(probs, Heads(v)).permute(0, 2, 1, 3).reshape(B * L, H);
            attn.index_copy_(0, g.ValidRows, o.index_select(0, g.ValidPadded));
        }
        var h = AttentionNorm.Forward(AttentionOutput.Forward(attn) + x);
        var ff = Output.Forward(Activation(Intermediate.Forward(h)));
        return OutputNorm.Forward(ff + h).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var d in new IDisposable[] { Query, Key, Value, AttentionOutput, AttentionNorm, Intermediate, Output, OutputNorm })
            d.Dispose();
    }
}
