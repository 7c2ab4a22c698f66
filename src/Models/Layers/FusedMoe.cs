using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>Routing of tokens to experts (vLLM's fused_topk): softmax over the router logits, top-k, optionally renormalised.</summary>
public static class MoeRouting
{
    /// <summary>Router logits [T, E] → float32 weights [T, k] and expert ids [T, k] (int64), highest first.</summary>
    public static (Tensor Weights, Tensor Ids) SoftmaxTopK(Tensor routerLogits, int topK, bool renormalize)
    {
        using var scope = NewDisposeScope();
        var probs = torch.softmax(routerLogits.to_type(ScalarType.Float32), -1);
        var (weights, ids) = probs.topk(topK, -1);
        if (renormalize) weights = weights / weights.sum(-1, keepdim: true);
        return (weights.MoveToOuterDisposeScope(), ids.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// The experts of a mixture-of-experts layer as stacked tensors (vLLM's FusedMoE): gate and up packed per expert in
/// <see cref="W13"/> [E, 2 x I, H] (gate rows first), down in <see cref="W2"/> [E, H, I]. Tokens are computed grouped
/// by expert: the (token, expert) pairs are sorted by expert, and each active expert runs one matmul over its rows.
/// Optional per-expert biases ([E, 2 x I] and [E, H]) and a gated activation of (gate, up) other than act(gate) * up
/// serve GPT-OSS's clamped SwiGLU experts.
/// </summary>
public sealed class FusedMoe : IDisposable
{
    readonly Func<Tensor, Tensor, Tensor> _gatedActivation;

    /// <summary>Experts computing down(activation(gate) * up).</summary>
    public FusedMoe(Tensor w13, Tensor w2, Func<Tensor, Tensor> activation) : this(w13, w2, (gate, up) => activation(gate) * up) { }

    /// <summary>Experts computing down(gatedActivation(gate, up)), with optional biases on both projections.</summary>
    public FusedMoe(Tensor w13, Tensor w2, Func<Tensor, Tensor, Tensor> gatedActivation, Tensor? w13Bias = null, Tensor? w2Bias = null)
    {
        W13 = w13;
        W2 = w2;
        W13Bias = w13Bias;
        W2Bias = w2Bias;
        _gatedActivation = gatedActivation;
    }

    public Tensor W13 { get; }
    public Tensor W2 { get; }
    public Tensor? W13Bias { get; }
    public Tensor? W2Bias { get; }
    public int NumExperts => (int)W13.shape[0];
    public long IntermediateSize => W2.shape[2];

    /// <summary>
    /// Up to this many tokens on CUDA, <see cref="Forward"/> takes the path without host synchronisation
    /// (<see cref="ForwardDense"/>), so decode steps can be captured in CUDA graphs.
    /// </summary>
    public const int HostSyncFreeMaxTokens = 512;

    /// <summary>x [T, H], routing weights [T, k] and expert ids [T, k] → Σ_k weight · expert(x) [T, H].</summary>
    public Tensor Forward(Tensor x, Tensor topkWeights, Tensor topkIds) =>
        x.device_type == DeviceType.CUDA && x.shape[0] <= HostSyncFreeMaxTokens
            ? ForwardDense(x, topkWeights, topkIds)
            : ForwardGrouped(x, topkWeights, topkIds);

    /// <summary>
    /// Every expert over all T tokens, weighted by a dense [T, E] routing matrix (zero where not chosen): static shapes
    /// and no host synchronisation, for small (decode) batches on CUDA, where nearly every expert is active anyway.
    /// </summary>
    public Tensor ForwardDense(Tensor x, Tensor topkWeights, Tensor topkIds)
    {
        using var scope = NewDisposeScope();
        var routing = torch.zeros([x.shape[0], NumExperts], ScalarType.Float32, x.device).scatter_(1, topkIds, topkWeights);
        var output = torch.zeros_like(x);
        for (int e = 0; e < NumExperts; e++)
        {
            using var inner = NewDisposeScope();
            var y = Expert(e, x).to_type(ScalarType.Float32) * routing.narrow(1, e, 1);
            output.add_(y.to_type(x.dtype));
        }
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The (token, expert) pairs sorted by expert; each active expert runs one matmul over its rows.</summary>
    public Tensor ForwardGrouped(Tensor x, Tensor topkWeights, Tensor topkIds)
    {
        using var scope = NewDisposeScope();
        long k = topkIds.shape[1];
        var flat = topkIds.reshape(-1);
        var (_, order) = flat.sort(0, descending: false, stable: true);
        var tokenOf = order.div(k, rounding_mode: RoundingMode.floor);
        long[] counts = torch.bincount(flat, minlength: NumExperts).cpu().data<long>().ToArray();
        var rows = x.index_select(0, tokenOf);
        var outRows = torch.empty([rows.shape[0], x.shape[1]], x.dtype, x.device);
        long offset = 0;
        for (int e = 0; e < counts.Length; e++)
        {
            long n = counts[e];
            if (n == 0) continue;
            using var inner = NewDisposeScope();
            outRows.narrow(0, offset, n).copy_(Expert(e, rows.narrow(0, offset, n)));
            offset += n;
        }
        // Weighted in float32 (the router's precision), as transformers does, then back to the model dtype.
        var weights = topkWeights.reshape(-1).index_select(0, order).unsqueeze(1);
        var weighted = (outRows.to_type(ScalarType.Float32) * weights).to_type(x.dtype);
        var output = torch.zeros_like(x);
        output.index_add_(0, tokenOf, weighted, Scalars.One);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Expert <paramref name="e"/> over its rows [n, H] → [n, H].</summary>
    Tensor Expert(int e, Tensor rows)
    {
        long inter = IntermediateSize;
        var gateUp = nn.functional.linear(rows, W13[e], W13Bias?[e]);
        var h = _gatedActivation(gateUp.narrow(-1, 0, inter), gateUp.narrow(-1, inter, inter));
        return nn.functional.linear(h, W2[e], W2Bias?[e]);
    }

    public void Dispose()
    {
        W13.Dispose();
        W2.Dispose();
        W13Bias?.Dispose();
        W2Bias?.Dispose();
    }
}

/// <summary>
/// A sparse MoE feed-forward block: router `gate` [E, H], softmax top-k experts, plus an optional shared expert that
/// every token goes through, scaled by sigmoid(shared_expert_gate(x)) when that gate exists (Qwen2-MoE).
/// </summary>
public sealed class SparseMoeBlock(Linear gate, FusedMoe experts, int topK, bool renormalize, GatedMlp? sharedExpert = null, Linear? sharedExpertGate = null)
    : IFeedForward
{
    public Linear Gate { get; } = gate;
    public FusedMoe Experts { get; } = experts;
    public int TopK { get; } = topK;
    public bool Renormalize { get; } = renormalize;

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (weights, ids) = MoeRouting.SoftmaxTopK(Gate.Forward(x), TopK, Renormalize);
        var y = Experts.Forward(x, weights, ids);
        if (sharedExpert != null)
        {
            var shared = sharedExpert.Forward(x);
            if (sharedExpertGate != null) shared = torch.sigmoid(sharedExpertGate.Forward(x)) * shared;
            y.add_(shared);
        }
        return y.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Gate.Dispose();
        Experts.Dispose();
        sharedExpert?.Dispose();
        sharedExpertGate?.Dispose();
    }
}
