using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// A post-LN BERT encoder layer: bidirectional multi-head self-attention, residual + LayerNorm, then
/// dense-activation-dense, residual + LayerNorm. Runs over a flat batch; attention is computed per sequence.
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

    /// <param name="x">[T, H] flat batch</param><param name="lengths">tokens per sequence, in order</param>
    public Tensor Forward(Tensor x, IReadOnlyList<int> lengths)
    {
        using var scope = NewDisposeScope();
        long T = x.shape[0];
        var q = Query.Forward(x).view(T, NumHeads, HeadDim);
        var k = Key.Forward(x).view(T, NumHeads, HeadDim);
        var v = Value.Forward(x).view(T, NumHeads, HeadDim);
        var attn = torch.empty([T, NumHeads * HeadDim], x.dtype, x.device);
        double scale = 1.0 / Math.Sqrt(HeadDim);
        long start = 0;
        foreach (var len in lengths)
        {
            using var inner = NewDisposeScope();
            var qs = q.narrow(0, start, len).permute(1, 0, 2);   // [heads, L, D]
            var ks = k.narrow(0, start, len).permute(1, 0, 2);
            var vs = v.narrow(0, start, len).permute(1, 0, 2);
            var scores = torch.matmul(qs, ks.transpose(-1, -2)) * scale;
            var probs = torch.softmax(scores, -1, ScalarType.Float32).to_type(x.dtype);
            var o = torch.matmul(probs, vs).permute(1, 0, 2).reshape(len, NumHeads * HeadDim);
            attn.narrow(0, start, len).copy_(o);
            start += len;
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
