using static TorchSharp.torch;

namespace Pipeline.Models.Lora;

/// <summary>
/// Which GPU slot each token of one step uses (vLLM's LoRAMapping, the punica wrapper's token-to-slot indices), as a
/// one-hot [T, max_loras] in the model's dtype; a base-model token's row is all zeros, so its delta is exactly zero.
/// <see cref="Mask"/> widens it to the shrink output's layout ([T, parts * max_loras * max_rank]), once per step and
/// part count.
/// </summary>
public sealed class LoRAStepMapping : IDisposable
{
    readonly Tensor _oneHot;
    readonly int _rank;
    readonly Dictionary<int, Tensor> _masks = new();

    public LoRAStepMapping(Tensor oneHot, int maxRank)
    {
        _oneHot = oneHot;
        _rank = maxRank;
    }

    public long NumTokens => _oneHot.shape[0];

    public Tensor Mask(int parts)
    {
        if (_masks.TryGetValue(parts, out var m)) return m;
        using var scope = NewDisposeScope();
        long t = _oneHot.shape[0], s = _oneHot.shape[1];
        var perSlot = _oneHot.unsqueeze(2).expand(t, s, _rank).reshape(t, s * _rank);
        m = (parts == 1 ? perSlot.contiguous() : perSlot.repeat(1, parts)).DetachFromDisposeScope();
        return _masks[parts] = m;
    }

    public void Dispose()
    {
        _oneHot.Dispose();
        foreach (var m in _masks.Values) m.Dispose();
        _masks.Clear();
    }
}
