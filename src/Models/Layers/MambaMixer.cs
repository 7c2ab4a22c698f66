using Pipeline.Models.Cache;
using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// Mamba 1's selective-scan mixer (transformers' MambaMixer): in_proj to x and gate, causal conv1d + SiLU, x_proj to
/// (dt, B, C), dt_proj + softplus, A = -exp(A_log) per channel and state, D skip, y · silu(gate), out_proj.
/// <paramref name="dtNorm"/>, <paramref name="bNorm"/> and <paramref name="cNorm"/> normalise dt, B and C before use
/// (Falcon-Mamba: weightless RMSNorm; Jamba: RMSNorm with weights); null elsewhere.
/// </summary>
public sealed class MambaMixer(int stateIndex, Linear inProj, Tensor convWeight, Tensor? convBias, Linear xProj, Linear dtProj,
    Tensor aLog, Tensor d, Linear outProj, int timeStepRank, int stateSize,
    Func<Tensor, Tensor>? dtNorm = null, Func<Tensor, Tensor>? bNorm = null, Func<Tensor, Tensor>? cNorm = null,
    IDisposable? owned = null) : IMambaMixer
{
    readonly long _inner = aLog.shape[0];
    public int StateIndex { get; } = stateIndex;

    public MambaSpec Spec(int blockSize, ScalarType dtype) =>
        new(blockSize, dtype, (int)_inner, (int)convWeight.shape[2], (int)_inner, 1, stateSize);

    public Tensor Forward(Tensor x, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var m = ctx.Batch.Mamba ?? throw new InvalidOperationException("a state-space layer needs the step's state inputs (StepBatch.Mamba)");
        var dtype = x.dtype;
        var parts = MambaOps.Pad(inProj.Forward(x), m).chunk(2, -1);                 // [B, L, I] each
        var hs = nn.functional.silu(MambaOps.CausalConv1d(parts[0], ctx.Cache.ConvStates[StateIndex], convWeight, convBias, m));
        var ssm = xProj.Forward(hs).split([timeStepRank, stateSize, stateSize], -1);
        var ts = dtNorm?.Invoke(ssm[0]) ?? ssm[0];
        var bm = bNorm?.Invoke(ssm[1]) ?? ssm[1];
        var cm = cNorm?.Invoke(ssm[2]) ?? ssm[2];
        var dt = nn.functional.softplus(dtProj.Forward(ts).to_type(ScalarType.Float32)).mul_(m.Mask.unsqueeze(-1));   // [B, L, I]
        var a = aLog.to_type(ScalarType.Float32).exp().neg_().unsqueeze(1);          // [I, 1, N]
        var states = ctx.Cache.SsmStates[StateIndex];
        var state = MambaOps.InitialState(states, m, ScalarType.Float32);           // [B, I, 1, N]
        var xf = hs.to_type(ScalarType.Float32);
        var y = MambaOps.SelectiveScan(state, dt, a, xf.unsqueeze(-1),
            bm.to_type(ScalarType.Float32).unsqueeze(2), cm.to_type(ScalarType.Float32).unsqueeze(2)).squeeze(-1);
        states.index_copy_(0, m.StateSlots, state.to_type(states.dtype));
        y = y.to_type(dtype) + hs * d;
        y = y * nn.functional.silu(parts[1]);
        return outProj.Forward(MambaOps.Unpad(y, m)).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        inProj.Dispose();
        convWeight.Dispose();
        convBias?.Dispose();
        xProj.Dispose();
        dtProj.Dispose();
        aLog.Dispose();
        d.Dispose();
        outProj.Dispose();
        owned?.Dispose();
    }
}
