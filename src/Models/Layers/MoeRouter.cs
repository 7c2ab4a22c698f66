using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// Chooses the experts of each token (vLLM's routing functions): hidden states [T, H] → float32 weights [T, k] and
/// expert ids [T, k] (int64). The router owns its gate projection.
/// </summary>
public interface IMoeRouter : IDisposable
{
    (Tensor Weights, Tensor Ids) Route(Tensor x);
}

/// <summary>
/// Softmax over the gate's logits, top-k, then the chosen weights divided by their L<paramref name="normP"/> norm when
/// given (1: renormalised to sum 1, as Mixtral, Granite, GPT-OSS and DBRX do; DBRX names p in
/// moe_normalize_expert_weights). The gate may have a bias (GPT-OSS). Softmax-then-renormalise equals a softmax over
/// the top-k logits, which is how Granite and GPT-OSS write it. A gate kept in float32 (HunYuan's) reads the
/// hidden states in float32.
/// </summary>
public sealed class SoftmaxTopKRouter(Linear gate, int topK, double? normP = 1.0) : IMoeRouter
{
    public Linear Gate { get; } = gate;

    public (Tensor Weights, Tensor Ids) Route(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (weights, ids) = MoeRouting.SoftmaxTopK(Gate.Forward(x.to_type(Gate.Weight.dtype)), topK, renormalize: normP == 1.0);
        if (normP is double p && p != 1.0) weights = weights / weights.norm(-1, keepdim: true, p: (float)p);
        return (weights.MoveToOuterDisposeScope(), ids.MoveToOuterDisposeScope());
    }

    public void Dispose() => Gate.Dispose();
}

/// <summary>
/// PhiMoE's sparsemixer at inference (top-2 only). The first expert is the arg-max logit s1; its weight is its softmax
/// over the logits within the jitter band of s1 (those with (s1 - s) / max(|s|, s1) ≤ 2 · eps; the others are masked
/// out). The second is the arg-max with the first masked, weighted the same way around its own max s2 (the band is
/// measured on the unmasked logits, the softmax runs with the first expert masked).
/// </summary>
public sealed class SparseMixerRouter(Linear gate, double jitterEps, int topK = 2) : IMoeRouter
{
    public Linear Gate { get; } = gate;

    public (Tensor Weights, Tensor Ids) Route(Tensor x)
    {
        if (topK != 2) throw new NotSupportedException($"sparsemixer routing supports top-2 only (num_experts_per_tok = {topK})");
        using var scope = NewDisposeScope();
        var scores = Gate.Forward(x).to_type(ScalarType.Float32);
        var (w1, id1) = Pick(scores, scores);
        var (w2, id2) = Pick(scores.scatter(-1, id1, torch.full(id1.shape, float.NegativeInfinity, ScalarType.Float32, scores.device)), scores);
        return (torch.cat([w1, w2], -1).MoveToOuterDisposeScope(), torch.cat([id1, id2], -1).MoveToOuterDisposeScope());
    }

    /// <summary>The arg-max of <paramref name="masked"/> [T, 1] and its softmax weight among the logits in its band.</summary>
    (Tensor Weight, Tensor Id) Pick(Tensor masked, Tensor scores)
    {
        var (max, id) = masked.max(-1, keepdim: true);
        var factor = torch.maximum(scores.abs(), max);
        var outside = (max - scores).div(factor).gt(Scalars.Of(2 * jitterEps));
        var weight = torch.softmax(masked.masked_fill(outside, Scalars.NegInf), -1).gather(-1, id);
        return (weight, id);
    }

    public void Dispose() => Gate.Dispose();
}
