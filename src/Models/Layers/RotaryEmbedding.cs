using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// Rotary position embedding (rotate-half layout) with the scaling schemes transformers implements:
/// default, linear, dynamic NTK, llama3 and YaRN. cos/sin are computed per token from its position.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    readonly RopeConfig _rope;
    readonly int _rotaryDim;
    readonly int _maxPositions;
    readonly Tensor _invFreq; // float32 [rotaryDim / 2] on the model device
    readonly double _attentionFactor;
    readonly Device _device;

    public int RotaryDim => _rotaryDim;

    public RotaryEmbedding(ModelConfig config, Device device)
    {
        _rope = config.Rope;
        _device = device;
        _rotaryDim = (int)(config.HeadDim * _rope.PartialRotaryFactor);
        _maxPositions = config.MaxPositionEmbeddings;
        (_invFreq, _attentionFactor) = Compute(_rope, _rotaryDim, _maxPositions, device);
    }

    static Tensor BaseInvFreq(double theta, int dim, Device device)
    {
        using var scope = NewDisposeScope();
        var exponents = torch.arange(0, dim, 2, ScalarType.Int64).to_type(ScalarType.Float32) / dim;
        var inv = 1.0f / torch.pow(torch.tensor((float)theta), exponents);
        return inv.to(device).MoveToOuterDisposeScope();
    }

    static (Tensor, double) Compute(RopeConfig rope, int dim, int maxPositions, Device device)
    {
        switch (rope.RopeType)
        {
            case "linear":
            {
                using var b = BaseInvFreq(rope.Theta, dim, device);
                return (b / (float)rope.Factor, 1.0);
            }
            case "llama3":
                return (Llama3(rope, dim, device), 1.0);
            case "yarn":
                return Yarn(rope, dim, maxPositions, device);
            default: // default, and dynamic below its original length
                return (BaseInvFreq(rope.Theta, dim, device), 1.0);
        }
    }

    static Tensor Llama3(RopeConfig rope, int dim, Device device)
    {
        using var scope = NewDisposeScope();
        var inv = BaseInvFreq(rope.Theta, dim, device);
        double factor = rope.Factor, lowF = rope.LowFreqFactor, highF = rope.HighFreqFactor;
        double oldCtx = rope.OriginalMaxPositionEmbeddings ?? 8192;
        double lowWavelen = oldCtx / lowF, highWavelen = oldCtx / highF;
        var wavelen = 2 * Math.PI / inv;
        var scaled = torch.where(wavelen > lowWavelen, inv / (float)factor, inv);
        var smooth = (oldCtx / wavelen - lowF) / (highF - lowF);
        var smoothed = (1 - smooth) * scaled / (float)factor + smooth * scaled;
        var medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
        return torch.where(medium, smoothed, scaled).MoveToOuterDisposeScope();
    }

    static double YarnMScale(double scale, double mscale = 1) => scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;

    static (Tensor, double) Yarn(RopeConfig rope, int dim, int maxPositions, Device device)
    {
        using var scope = NewDisposeScope();
        double baseTheta = rope.Theta;
        int origMax = rope.OriginalMaxPositionEmbeddings ?? maxPositions;
        double factor = rope.Factor;
        double attention = rope.AttentionFactor ?? (rope.MScale is double ms && rope.MScaleAllDim is double msa
            ? YarnMScale(factor, ms) / YarnMScale(factor, msa)
            : YarnMScale(factor));
        double CorrectionDim(double rotations) => dim * Math.Log(origMax / (rotations * 2 * Math.PI)) / (2 * Math.Log(baseTheta));
        double low = CorrectionDim(rope.BetaFast), high = CorrectionDim(rope.BetaSlow);
        if (rope.Truncate) { low = Math.Floor(low); high = Math.Ceiling(high); }
        low = Math.Max(low, 0); high = Math.Min(high, dim - 1);
        if (low == high) high += 0.001;
        var posFreqs = torch.pow(torch.tensor((float)baseTheta), torch.arange(0, dim, 2, ScalarType.Int64).to_type(ScalarType.Float32) / dim);
        var extrapolation = 1.0f / posFreqs;
        var interpolation = 1.0f / ((float)factor * posFreqs);
        var ramp = ((torch.arange(dim / 2, ScalarType.Float32) - (float)low) / (float)(high - low)).clamp(0, 1);
        var extrapolationFactor = 1 - ramp;
        var inv = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        return (inv.to(device).MoveToOuterDisposeScope(), attention);
    }

    Tensor? _cosSinCache;

    /// <summary>
    /// cos and sin of every position up to <paramref name="maxPositions"/>, float32 [maxPositions, rotaryDim] (cos half,
    /// then sin half, attention factor applied), for kernels that rotate by table lookup; null for dynamic scaling, whose
    /// rotation depends on the sequence.
    /// </summary>
    public Tensor? CosSinCache(int maxPositions)
    {
        if (_rope.RopeType == "dynamic") return null;
        if (_cosSinCache is { } cached && cached.shape[0] >= maxPositions) return cached;
        using var scope = NewDisposeScope();
        var freqs = torch.arange(maxPositions, ScalarType.Float32, _device).unsqueeze(1) * _invFreq.unsqueeze(0);
        var table = torch.cat([freqs.cos(), freqs.sin()], -1);
        if (_attentionFactor != 1.0) table = table.mul(Scalars.Of((float)_attentionFactor));
        _cosSinCache?.Dispose();
        _cosSinCache = table.contiguous().DetachFromDisposeScope();
        return _cosSinCache;
    }

    /// <summary>cos and sin, each [T, rotaryDim], in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) ForPositions(Tensor positions, IReadOnlyList<SequenceSlice> seqs, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        Tensor freqs;
        if (_rope.RopeType == "dynamic")
        {
            // transformers rescales the base from the longest position of each forward: the whole prompt during
            // prefill, then position + 1 at each decode step. Each token gets the base it had there, so chunked
            // prefill and recomputation after preemption give the same rotation as transformers' generate.
            var rows = new List<Tensor>();
            foreach (var s in seqs)
            {
                int start = s.SeqLen - s.QueryLen;
                for (int i = 0; i < s.QueryLen; i++)
                {
                    int pos = start + i;
                    int len = pos < s.NumPromptTokens ? s.NumPromptTokens : pos + 1;
                    rows.Add(DynamicInvFreq(len).mul(Scalars.Of(pos)));
                }
            }
            freqs = torch.stack(rows, 0);
        }
        else
        {
            freqs = positions.to_type(ScalarType.Float32).unsqueeze(1) * _invFreq.unsqueeze(0);
        }
        var emb = torch.cat([freqs, freqs], -1);
        var cos = emb.cos();
        var sin = emb.sin();
        if (_attentionFactor != 1.0) { cos = cos.mul(Scalars.Of((float)_attentionFactor)); sin = sin.mul(Scalars.Of((float)_attentionFactor)); }
        return (cos.to_type(dtype).MoveToOuterDisposeScope(), sin.to_type(dtype).MoveToOuterDisposeScope());
    }

    Tensor DynamicInvFreq(int seqLen)
    {
        int orig = _rope.OriginalMaxPositionEmbeddings ?? _maxPositions;
        if (seqLen <= orig) return _invFreq.alias();
        double factor = _rope.Factor;
        double baseTheta = _rope.Theta * Math.Pow(factor * seqLen / orig - (factor - 1), (double)_rotaryDim / (_rotaryDim - 2));
        return BaseInvFreq(baseTheta, _rotaryDim, _device);
    }

    /// <summary>Applies the rotation to x [T, heads, headDim] (only the first rotaryDim dims rotate).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long rot = cos.shape[^1];
        var c = cos.unsqueeze(1);
        var s = sin.unsqueeze(1);
        Tensor xr = rot == x.shape[^1] ? x : x.narrow(-1, 0, rot);
        var half = rot / 2;
        var x1 = xr.narrow(-1, 0, half);
        var x2 = xr.narrow(-1, half, half);
        var rotated = torch.cat([-x2, x1], -1);
        var outRot = xr * c + rotated * s;
        var result = rot == x.shape[^1] ? outRot : torch.cat([outRot, x.narrow(-1, rot, x.shape[^1] - rot)], -1);
        return result.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _invFreq.Dispose();
        _cosSinCache?.Dispose();
    }
}
