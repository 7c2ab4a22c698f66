using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// The vision transformer of Qwen2-VL and Qwen2.5-VL (vLLM's Qwen2VisionTransformer / Qwen2_5_VisionTransformer):
/// a linear patch embedding over C x temporal x P x P patches, 2-D vision rotary, pre-norm blocks whose attention
/// covers each frame (Qwen2-VL) or each window, with full attention in fullatt_block_indexes (Qwen2.5-VL), and the
/// patch merger: norm, then merge_size² neighbouring patches concatenated through a GELU MLP into one token of the
/// language model's width.
/// </summary>
public sealed class Qwen2VisionTransformer : IDisposable
{
    sealed record Block(INorm Norm1, Linear Qkv, Linear Proj, INorm Norm2, IFeedForward Mlp) : IDisposable
    {
        public void Dispose() { Norm1.Dispose(); Qkv.Dispose(); Proj.Dispose(); Norm2.Dispose(); Mlp.Dispose(); }
    }

    const double Eps = 1e-6;
    readonly Qwen2VisionOptions _o;
    readonly Tensor _patchWeight; // [width, C*T*P*P]: the Conv3d whose kernel is the whole patch, as a matrix
    readonly Block[] _blocks;
    readonly INorm _mergerNorm;
    readonly Linear _merger0, _merger2;
    readonly Func<Tensor, Tensor> _gelu = Activations.Get("gelu");

    public Qwen2VisionOptions Options => _o;
    public ScalarType DType { get; }
    public Device Device { get; }

    /// <param name="prefix">the tower's weight prefix ("visual." or "model.visual.")</param>
    public Qwen2VisionTransformer(Qwen2VisionOptions o, IWeightSource source, string prefix, ScalarType dtype, Device device)
    {
        _o = o;
        DType = dtype;
        Device = device;
        if (o.Width % o.NumHeads != 0 || o.HeadDim % 4 != 0)
            throw new ModelConfigException($"vision_config: width {o.Width} over {o.NumHeads} heads must give a head size divisible by 4 (2-D rotary)");
        var w = new ModelWeights(new RenamedWeightSource(source, n => prefix + n), dtype, device);
        int d = o.Width;
        INorm Norm(string name, long size) => o.Qwen25
            ? w.RmsNorm(name + ".weight", size, Eps)
            : new LayerNorm(w.Load(name + ".weight", [size]), w.Load(name + ".bias", [size]), Eps);
        using (var conv = w.Load("patch_embed.proj.weight", [d, o.InChannels, o.TemporalPatchSize, o.PatchSize, o.PatchSize]))
            _patchWeight = conv.reshape(d, o.PatchInputSize).contiguous().DetachFromDisposeScope();
        _blocks = new Block[o.Depth];
        for (int i = 0; i < o.Depth; i++)
        {
            string p = $"blocks.{i}.";
            IFeedForward mlp = o.Qwen25
                ? new GatedMlp(w.Packed(p + "mlp.", PackedModules.Llama, "gate_up_proj", [o.IntermediateSize, o.IntermediateSize], d, bias: true),
                    w.Linear(p + "mlp.down_proj", d, o.IntermediateSize, bias: true), Activations.Get(o.HiddenAct), o.HiddenAct is "silu")
                : new Mlp(w.Linear(p + "mlp.fc1", o.IntermediateSize, d, bias: true), w.Linear(p + "mlp.fc2", d, o.IntermediateSize, bias: true),
                    Activations.Get(o.HiddenAct));
            _blocks[i] = new Block(Norm(p + "norm1", d), w.Linear(p + "attn.qkv", 3L * d, d, bias: true),
                w.Linear(p + "attn.proj", d, d, bias: true), Norm(p + "norm2", d), mlp);
        }
        long merged = (long)d * o.SpatialMergeSize * o.SpatialMergeSize;
        _mergerNorm = Norm("merger.ln_q", d);
        _merger0 = w.Linear("merger.mlp.0", merged, merged, bias: true);
        _merger2 = w.Linear("merger.mlp.2", o.OutHiddenSize, merged, bias: true);
    }

    /// <summary>One image's (or frame group's) pixel_values [t*h*w, C*T*P*P] and grid (t, h, w) in patches to [t*h*w / merge², out hidden].</summary>
    public Tensor Forward(Tensor pixelValues, int t, int h, int w)
    {
        var o = _o;
        int m = o.SpatialMergeSize, unit = m * m, n = t * h * w;
        if (pixelValues.shape[0] != n || pixelValues.shape[1] != o.PatchInputSize)
            throw new ArgumentException($"pixel_values {string.Join("x", pixelValues.shape)} do not match grid {t}x{h}x{w} of {o.PatchInputSize}-wide patches");
        if (h % m != 0 || w % m != 0) throw new ArgumentException($"grid {h}x{w} is not a multiple of spatial_merge_size {m}");
        using var scope = NewDisposeScope();
        var x = nn.functional.linear(pixelValues.to(Device).to_type(DType), _patchWeight);
        var (cos, sin) = VisionRotaryEmbedding.ForGrid(t, h, w, m, o.HeadDim, o.RopeTheta, ScalarType.Float32, Device);
        int[] full = Enumerable.Range(0, t + 1).Select(f => f * h * w).ToArray(); // attention per frame
        int[] windowed = full;
        Tensor? order = null;
        if (o.Qwen25)
        {
            // Reorder the merge blocks window by window, so each window is one contiguous segment.
            var win = VisionWindows.For(t, h, w, m, o.MergedWindowSize);
            order = torch.tensor(win.Index, device: Device);
            Tensor Reorder(Tensor a) => a.view(n / unit, unit, -1).index_select(0, order).reshape(n, -1);
            (x, cos, sin) = (Reorder(x), Reorder(cos), Reorder(sin));
            windowed = win.Boundaries;
        }
        for (int i = 0; i < _blocks.Length; i++)
        {
            var b = _blocks[i];
            var segments = o.Qwen25 && !o.FullAttBlockIndexes.Contains(i) ? windowed : full;
            x = x + b.Proj.Forward(Attend(b.Qkv.Forward(b.Norm1.Forward(x)), cos, sin, segments));
            x = x + b.Mlp.Forward(b.Norm2.Forward(x));
        }
        var merged = _merger2.Forward(_gelu(_merger0.Forward(_mergerNorm.Forward(x).reshape(n / unit, -1))));
        if (order is not null) merged = merged.index_select(0, order.argsort());
        return merged.MoveToOuterDisposeScope();
    }

    /// <summary>Bidirectional attention within each segment [bounds[i], bounds[i+1]) of rows, q and k rotated (in float32).</summary>
    Tensor Attend(Tensor qkv, Tensor cos, Tensor sin, int[] bounds)
    {
        long n = qkv.shape[0];
        int heads = _o.NumHeads, hd = _o.HeadDim;
        var parts = qkv.view(n, 3, heads, hd).unbind(1);
        var q = RotaryEmbedding.Apply(parts[0].to_type(ScalarType.Float32), cos, sin).to_type(qkv.dtype);
        var k = RotaryEmbedding.Apply(parts[1].to_type(ScalarType.Float32), cos, sin).to_type(qkv.dtype);
        var v = parts[2];
        double scale = 1.0 / Math.Sqrt(hd);
        var outputs = new List<Tensor>(bounds.Length - 1);
        for (int s = 0; s + 1 < bounds.Length; s++)
        {
            int from = bounds[s], len = bounds[s + 1] - from;
            if (len == 0) continue;
            Tensor Heads(Tensor a) => a.narrow(0, from, len).transpose(0, 1); // [heads, len, hd]
            var scores = torch.matmul(Heads(q), Heads(k).transpose(-1, -2)).mul(Scalars.Of(scale));
            var probs = torch.softmax(scores, -1, ScalarType.Float32).to_type(v.dtype);
            outputs.Add(torch.matmul(probs, Heads(v)).transpose(0, 1));
        }
        return torch.cat(outputs, 0).reshape(n, heads * hd);
    }

    public void Dispose()
    {
        _patchWeight.Dispose();
        foreach (var b in _blocks) b.Dispose();
        _mergerNorm.Dispose();
        _merger0.Dispose();
        _merger2.Dispose();
    }
}
