using Pipeline.Models.Cache;
using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>The shape of a Mamba 2 mixer (state-space duality): heads of <c>HeadDim</c> channels sharing B and C by group.</summary>
public sealed record Mamba2Dims(int NumHeads, int HeadDim, int NumGroups, int StateSize, int ConvKernel)
{
    public int Inner => NumHeads * HeadDim;
    public int ConvDim => Inner + 2 * NumGroups * StateSize;
}

/// <summary>
/// Mamba 2's mixer (transformers' Mamba2Mixer and the hybrids' copies of it): in_proj to (gate, xBC, dt), causal conv1d
/// + SiLU over xBC, dt = softplus(dt + dt_bias) clamped to time_step_limit, A = -exp(A_log) per head, the scan with B
/// and C shared by the heads of a group, D skip, then the gated RMSNorm (normalised over groups of
/// <paramref name="normGroupSize"/> channels, the whole width when 0; normalised before gating with
/// <paramref name="normBeforeGate"/>) or, without a norm weight, y · silu(gate); out_proj.
/// </summary>
public sealed class Mamba2Mixer(int stateIndex, Mamba2Dims dims, Linear inProj, Tensor convWeight, Tensor? convBias,
    Tensor dtBias, Tensor aLog, Tensor d, Tensor? normWeight, double normEps, long normGroupSize, Linear outProj,
    (double Min, double Max) dtLimit, bool normBeforeGate = false) : IMambaMixer
{
    public int StateIndex { get; } = stateIndex;
    public Mamba2Dims Dims { get; } = dims;

    public MambaSpec Spec(int blockSize, ScalarType dtype) =>
        new(blockSize, dtype, Dims.ConvDim, Dims.ConvKernel, Dims.NumHeads, Dims.HeadDim, Dims.StateSize);

    public Tensor Forward(Tensor x, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var m = ctx.Batch.Mamba ?? throw new InvalidOperationException("a state-space layer needs the step's state inputs (StepBatch.Mamba)");
        var dtype = x.dtype;
        int h = Dims.NumHeads, p = Dims.HeadDim, g = Dims.NumGroups, n = Dims.StateSize, inner = Dims.Inner;
        var proj = inProj.Forward(x);
        long dMlp = (proj.shape[1] - 2L * inner - 2L * g * n - h) / 2;
        if (dMlp != 0) throw new NotSupportedException($"Mamba 2 in_proj with an extra MLP part ({dMlp} channels) is not supported");
        var parts = MambaOps.Pad(proj, m).split([inner, Dims.ConvDim, h], -1);        // gate, xBC, dt
        var xbc = nn.functional.silu(MambaOps.CausalConv1d(parts[1], ctx.Cache.ConvStates[StateIndex], convWeight, convBias, m));
        var split = xbc.split([inner, g * n, g * n], -1);
        long b = m.NumSeqs, len = m.MaxQueryLen;
        var xs = split[0].view(b, len, h, p);
        var bm = Heads(split[1].view(b, len, g, n), h / g);
        var cm = Heads(split[2].view(b, len, g, n), h / g);
        var dt = nn.functional.softplus((parts[2] + dtBias).to_type(ScalarType.Float32));
        if (dtLimit.Min > 0 || !double.IsPositiveInfinity(dtLimit.Max)) dt = dt.clamp(dtLimit.Min, dtLimit.Max);
        dt = dt.mul_(m.Mask.unsqueeze(-1));                                             // [B, L, H]
        var a = aLog.to_type(ScalarType.Float32).exp().neg_().view(h, 1, 1);
        var states = ctx.Cache.SsmStates[StateIndex];
        var state = MambaOps.InitialState(states, m, ScalarType.Float32);              // [B, H, P, N]
        var y = MambaOps.SelectiveScan(state, dt, a, xs.to_type(ScalarType.Float32), bm.to_type(ScalarType.Float32), cm.to_type(ScalarType.Float32));
        states.index_copy_(0, m.StateSlots, state.to_type(states.dtype));
        y = (y.to_type(dtype) + xs * d.view(h, 1)).view(b, len, inner);
        y = normWeight is null ? y * nn.functional.silu(parts[0]) : MambaOps.GatedRmsNorm(y, parts[0], normWeight, normEps, normGroupSize, normBeforeGate);
        return outProj.Forward(MambaOps.Unpad(y, m)).MoveToOuterDisposeScope();
    }

    /// <summary>[B, L, G, N] → [B, L, H, N]: each group's B (or C) for each of its heads.</summary>
    static Tensor Heads(Tensor perGroup, long headsPerGroup) =>
        headsPerGroup == 1 ? perGroup : perGroup.repeat_interleave(headsPerGroup, 2);

    public void Dispose()
    {
        inProj.Dispose();
        convWeight.Dispose();
        convBias?.Dispose();
        dtBias.Dispose();
        aLog.Dispose();
        d.Dispose();
        normWeight?.Dispose();
        outProj.Dispose();
    }
}
