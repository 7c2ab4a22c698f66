using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Lora;

/// <summary>
/// A projection's product plus each token's adapter delta, for a step that mixes adapters and the base model
/// (vLLM's ColumnParallelLinearWithLoRA family over punica's shrink/expand). Every slot's A of every packed slice is
/// stacked into one [slices * max_loras * max_rank, in] matrix, so the shrink is one GEMM for the whole batch; the
/// step's one-hot slot mask keeps each token's own slot (zero rows for base tokens); the expand is one GEMM per slice
/// against that slice's B of all slots ([out_slice, max_loras * max_rank], scaling folded in), added into the
/// slice's columns of the base output. The work does not depend on how the tokens are spread over adapters.
/// </summary>
public sealed class LoRALinearMethod : ILinearMethod, IDisposable
{
    readonly LoRAModelManager _manager;
    readonly int _slots, _rank;

    public LoRALinearMethod(LoRATarget target, ILinearMethod baseMethod, LoRAModelManager manager, int slots, int maxRank, ScalarType dtype, Device device)
    {
        Target = target;
        Base = baseMethod;
        _manager = manager;
        _slots = slots;
        _rank = maxRank;
        int parts = target.Slices.Length;
        AStacked = zeros([parts * slots * maxRank, target.Linear.InFeatures], dtype, device);
        BStacked = target.Slices.Select(s => zeros([s.Size, slots * maxRank], dtype, device)).ToArray();
    }

    public LoRATarget Target { get; }
    public ILinearMethod Base { get; }
    public Tensor AStacked { get; }
    public Tensor[] BStacked { get; }

    public Tensor Apply(Linear layer, Tensor x)
    {
        var y = Base.Apply(layer, x);
        if (_manager.Current is not { } mapping) return y;
        if (x.shape[0] != mapping.NumTokens)
            throw new InvalidOperationException($"{Target.Module}: {x.shape[0]} rows but the step's LoRA mapping has {mapping.NumTokens} tokens");
        using var scope = NewDisposeScope();
        int parts = Target.Slices.Length;
        long width = (long)_slots * _rank;
        var shrink = x.matmul(AStacked.t()).mul_(mapping.Mask(parts));
        for (int p = 0; p < parts; p++)
        {
            var slice = Target.Slices[p];
            y.narrow(-1, slice.Offset, slice.Size).add_(shrink.narrow(-1, p * width, width).matmul(BStacked[p].t()));
        }
        return y;
    }

    /// <summary>Puts an adapter's pairs for this projection in <paramref name="slot"/> (zeros where it has none).</summary>
    public void SetSlot(int slot, LoRALayerWeights?[]? weights)
    {
        using var scope = NewDisposeScope();
        for (int p = 0; p < Target.Slices.Length; p++)
        {
            var a = AStacked.narrow(0, ((long)p * _slots + slot) * _rank, _rank);
            var b = BStacked[p].narrow(1, (long)slot * _rank, _rank);
            a.zero_();
            b.zero_();
            if (weights?[p] is not { } w) continue;
            a.narrow(0, 0, w.Rank).copy_(w.A);
            b.narrow(1, 0, w.Rank).copy_(w.B);
        }
    }

    public void Dispose()
    {
        AStacked.Dispose();
        foreach (var b in BStacked) b.Dispose();
    }
}
