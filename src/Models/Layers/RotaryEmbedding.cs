using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// Rotary position embedding (rotate-half layout) with the scaling schemes transformers implements:
/// default, linear, dynamic NTK, llama3, YaRN and LongRoPE. cos/sin are computed per token from its position.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    readonly RopeConfig _rope;
    readonly int _rotaryDim;
    readonly int _maxPositions;
    readonly Tensor _invFreq; // float32 [rotaryDim / 2] on the model device
    readonly Tensor? _longInvFreq; // LongRoPE: the frequencies beyond original_max_position_embeddings
    readonly double _attentionFactor;
    readonly Device _device;

    public int RotaryDim => _rotaryDim;
    /// <summary>Rotates adjacent pairs (GPT-J style) rather than the two halves (NeoX style); never fused by a backend.</summary>
    public bool Interleaved { get; }

    /// <param name="rotaryDim">Rotated dims per head when the config does not say it by partial_rotary_factor (GPT-J's rotary_dim).</param>
    public RotaryEmbedding(ModelConfig config, Device device, bool interleaved = false, int? rotaryDim = null)
    {
        Interleaved = interleaved;
        _rope = config.Rope;
        _device = device;
        _rotaryDim = rotaryDim ?? (int)(config.HeadDim * _rope.PartialRotaryFactor);
        _maxPositions = config.MaxPositionEmbeddings;
        (_invFreq, _attentionFactor) = Compute(_rope, _rotaryDim, _maxPositions, device);
        if (_rope.RopeType == "longrope") _longInvFreq = LongRope(_rope, _rope.LongFactor, _rotaryDim, _maxPositions, device).InvFreq;
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
            case "longrope":
                return LongRope(rope, rope.ShortFactor, dim, maxPositions, device);
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

    /// <summary>
    /// LongRoPE: inv_freq = 1 / (ext_factor · theta^(2i/dim)) with the short or long factors; cos and sin scaled by
    /// sqrt(1 + ln(factor) / ln(original_max_position_embeddings)), factor defaulting to max / original positions.
    /// </summary>
    static (Tensor InvFreq, double AttentionFactor) LongRope(RopeConfig rope, double[] extFactors, int dim, int maxPositions, Device device)
    {
        if (extFactors.Length != dim / 2)
            throw new ModelConfigException($"longrope short_factor/long_factor must have {dim / 2} entries (rotary dim / 2), got {extFactors.Length}");
        using var scope = NewDisposeScope();
        int orig = rope.OriginalMaxPositionEmbeddings ?? maxPositions;
        double factor = rope.HasFactor ? rope.Factor : (double)maxPositions / orig;
        double attention = rope.AttentionFactor ?? (factor <= 1.0 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(orig)));
        var exponents = torch.arange(0, dim, 2, ScalarType.Int64).to_type(ScalarType.Float32) / dim;
        var ext = torch.tensor(extFactors.Select(f => (float)f).ToArray());
        var inv = 1.0f / (ext * torch.pow(torch.tensor((float)rope.Theta), exponents));
        return (inv.to(device).MoveToOuterDisposeScope(), attention);
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
        if (_rope.RopeType is "dynamic" or "longrope") return null;
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
        else if (_longInvFreq is not null)
        {
            // transformers switches to the long factors when the forward's longest position passes
            // original_max_position_embeddings: for the whole prompt when it is longer, then for each generated token
            // past it. Each token gets the factors it had there, as with dynamic scaling above. (transformers also
            // recomputes the cached prompt with the long factors at the step a generation crosses that length; a
            // paged cache keeps the earlier keys, as vLLM does.)
            int orig = _rope.OriginalMaxPositionEmbeddings ?? _maxPositions;
            var useLong = new List<bool>();
            foreach (var s in seqs)
            {
                int start = s.SeqLen - s.QueryLen;
                for (int i = 0; i < s.QueryLen; i++)
                {
                    int pos = start + i;
                    useLong.Add((pos < s.NumPromptTokens ? s.NumPromptTokens : pos + 1) > orig);
                }
            }
            if (useLong.Count != positions.shape[0]) // rows without a sequence (padding): by position alone
                useLong = positions.cpu().data<long>().ToArray().Select(p => p + 1 > orig).ToList();
            var mask = torch.tensor(useLong.ToArray()).to(_device).unsqueeze(1);
            var inv = torch.where(mask, _longInvFreq.unsqueeze(0), _invFreq.unsqueeze(0));
            freqs = positions.to_type(ScalarType.Float32).unsqueeze(1) * inv;
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

    /// <summary>Whether this rotary takes 3 x T positions (M-RoPE: <see cref="RopeConfig.MRopeSection"/>).</summary>
    public bool IsMRope => _rope.MRopeSection is not null;

    /// <summary>
    /// M-RoPE (Qwen2-VL): cos and sin, each [T, rotaryDim], for positions [3, T] (temporal, height, width). The
    /// rotary frequencies are split into mrope_section chunks and chunk i turns by position row i, in both halves
    /// of the rotate-half layout (transformers' apply_multimodal_rotary_pos_emb). Equal rows give ordinary rotary.
    /// </summary>
    public (Tensor Cos, Tensor Sin) ForMRopePositions(Tensor positions, ScalarType dtype)
    {
        var sections = _rope.MRopeSection ?? throw new InvalidOperationException("this rotary embedding has no mrope_section");
        if (sections.Sum() != _rotaryDim / 2)
            throw new ModelConfigException($"mrope_section [{string.Join(", ", sections)}] must add up to half the rotary dim ({_rotaryDim / 2})");
        using var scope = NewDisposeScope();
        var freqs = positions.to_type(ScalarType.Float32).unsqueeze(2) * _invFreq.view(1, 1, -1); // [3, T, dim/2]
        var chunks = new List<Tensor>(sections.Length);
        int from = 0;
        for (int i = 0; i < sections.Length; i++)
        {
            chunks.Add(freqs.select(0, i % 3).narrow(-1, from, sections[i]));
            from += sections[i];
        }
        var f = torch.cat(chunks, -1);
        var emb = torch.cat([f, f], -1);
        return (emb.cos().to_type(dtype).MoveToOuterDisposeScope(), emb.sin().to_type(dtype).MoveToOuterDisposeScope());
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

    /// <summary>
    /// GPT-J-style rotation of x [T, heads, headDim]: pair (2i, 2i+1) turns by frequency i. cos/sin are in the
    /// rotate-half layout [T, rotaryDim] (each frequency twice), so their first half holds one value per pair.
    /// </summary>
    public static Tensor ApplyInterleaved(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long rot = cos.shape[^1], half = rot / 2;
        var c = cos.narrow(-1, 0, half).unsqueeze(1);
        var s = sin.narrow(-1, 0, half).unsqueeze(1);
        Tensor xr = rot == x.shape[^1] ? x : x.narrow(-1, 0, rot);
        var pairs = xr.reshape(xr.shape[0], xr.shape[1], half, 2);
        var even = pairs.select(-1, 0);
        var odd = pairs.select(-1, 1);
        var outRot = torch.stack([even * c - odd * s, odd * c + even * s], -1).flatten(-2);
        var result = rot == x.shape[^1] ? outRot : torch.cat([outRot, x.narrow(-1, rot, x.shape[^1] - rot)], -1);
        return result.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _invFreq.Dispose();
        _longInvFreq?.Dispose();
        _cosSinCache?.Dispose();
    }
}
