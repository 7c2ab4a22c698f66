using Pipeline.Models.Config;
using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Pixtral's vision encoder in the transformers layout (transformers' PixtralVisionModel, vLLM's PixtralHFVisionModel),
/// as LLaVA (Pixtral-12B) and Mistral3 (Mistral-Small-3.1) use it: a patch convolution without bias, ln_pre RMSNorm,
/// 2-D rotary (<see cref="PixtralRotaryEmbedding"/>), and pre-RMSNorm blocks of bidirectional attention and a gated MLP.
/// Each image keeps its own size: one image runs at a time, which is transformers' block-diagonal mask across the
/// images of a batch. Only the layers up to the feature layer are built.
/// </summary>
public sealed class PixtralHFVisionModel : IVisionTower
{
    sealed record Layer(RmsNorm AttentionNorm, Linear Q, Linear K, Linear V, Linear O, RmsNorm FfnNorm, GatedMlp FeedForward) : IDisposable
    {
        public void Dispose() { AttentionNorm.Dispose(); Q.Dispose(); K.Dispose(); V.Dispose(); O.Dispose(); FfnNorm.Dispose(); FeedForward.Dispose(); }
    }

    const double Eps = 1e-5; // transformers hard-codes the tower's RMSNorm eps
    readonly PixtralVisionOptions _o;
    readonly Tensor _patchWeight;
    readonly RmsNorm _lnPre;
    readonly Layer[] _layers;

    public PixtralVisionOptions Options => _o;
    public ScalarType DType { get; }
    public Device Device { get; }

    /// <param name="prefix">the tower's weight prefix ("vision_tower." or "model.vision_tower.")</param>
    /// <param name="layersNeeded">how many blocks to build (the feature layer's depth)</param>
    public PixtralHFVisionModel(PixtralVisionOptions o, IWeightSource source, string prefix, int layersNeeded, ScalarType dtype, Device device)
    {
        if (layersNeeded < 0 || layersNeeded > o.NumLayers) throw new ModelConfigException($"vision feature layer depth {layersNeeded} is outside 0..{o.NumLayers}");
        _o = o;
        DType = dtype;
        Device = device;
        var w = new ModelWeights(new RenamedWeightSource(source, n => prefix + n), dtype, device);
        int h = o.HiddenSize;
        _patchWeight = w.Load("patch_conv.weight", [h, o.NumChannels, o.PatchSize, o.PatchSize]);
        _lnPre = w.RmsNorm("ln_pre.weight", h, Eps);
        var act = Activations.Get(o.HiddenAct);
        _layers = new Layer[layersNeeded];
        for (int i = 0; i < layersNeeded; i++)
        {
            string p = $"transformer.layers.{i}.";
            var mlp = new GatedMlp(w.Packed(p + "feed_forward.", PackedModules.Llama, "gate_up_proj", [o.IntermediateSize, o.IntermediateSize], h),
                w.Linear(p + "feed_forward.down_proj", h, o.IntermediateSize), act, o.HiddenAct is "silu");
            _layers[i] = new Layer(w.RmsNorm(p + "attention_norm.weight", h, Eps), w.Linear(p + "attention.q_proj", h, h),
                w.Linear(p + "attention.k_proj", h, h), w.Linear(p + "attention.v_proj", h, h), w.Linear(p + "attention.o_proj", h, h),
                w.RmsNorm(p + "ffn_norm.weight", h, Eps), mlp);
        }
    }

    /// <summary>The depth of hidden_states[<paramref name="featureLayer"/>] (index 0: after ln_pre; negative from the end).</summary>
    public static int LayersFor(int featureLayer, int numLayers) => featureLayer < 0 ? numLayers + 1 + featureLayer : featureLayer;

    /// <summary>IVisionTower: pixel_values [N, C, H, W] of N images of one size to [N, rows * cols, hidden], each image alone.</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        if (pixelValues.dim() == 3) return ForwardImage(pixelValues);
        using var scope = NewDisposeScope();
        var images = Enumerable.Range(0, (int)pixelValues.shape[0]).Select(i => ForwardImage(pixelValues[i])).ToArray();
        return torch.stack(images, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One image's pixel_values [C, H, W] to its patches' hidden states after the built blocks, [rows * cols, hidden] in
    /// row-major patch order (rows = H / patch, cols = W / patch; a remainder is cut, as transformers crops to image_sizes).
    /// </summary>
    public Tensor ForwardImage(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        int p = _o.PatchSize, hidden = _o.HiddenSize, heads = _o.NumHeads, d = _o.HeadDim;
        int rows = (int)pixelValues.shape[^2] / p, cols = (int)pixelValues.shape[^1] / p;
        if (rows == 0 || cols == 0) throw new ArgumentException($"image {pixelValues.shape[^1]}x{pixelValues.shape[^2]} is smaller than one {p}x{p} patch");
        var pixels = pixelValues.to(Device).to_type(DType).narrow(-2, 0, rows * p).narrow(-1, 0, cols * p).unsqueeze(0);
        var patches = nn.functional.conv2d(pixels, _patchWeight, strides: [p, p]); // [1, hidden, rows, cols]
        var x = _lnPre.Forward(patches.flatten(2).squeeze(0).t().contiguous());     // [n, hidden]
        long n = x.shape[0];
        var (cos, sin) = PixtralRotaryEmbedding.ForGrid(rows, cols, d, _o.RopeTheta, DType, Device);
        double scale = 1.0 / Math.Sqrt(d);
        foreach (var l in _layers)
        {
            var a = l.AttentionNorm.Forward(x);
            var q = RotaryEmbedding.Apply(l.Q.Forward(a).view(n, heads, d), cos, sin).transpose(0, 1); // [heads, n, d]
            var k = RotaryEmbedding.Apply(l.K.Forward(a).view(n, heads, d), cos, sin).transpose(0, 1);
            var v = l.V.Forward(a).view(n, heads, d).transpose(0, 1);
            var scores = torch.matmul(q, k.transpose(-1, -2)).mul(Scalars.Of(scale));
            var probs = torch.softmax(scores, -1, ScalarType.Float32).to_type(v.dtype);
            var o = torch.matmul(probs, v).transpose(0, 1).reshape(n, hidden);
            x = x + l.O.Forward(o);
            x = x + l.FeedForward.Forward(l.FfnNorm.Forward(x));
        }
        return x.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _patchWeight.Dispose();
        _lnPre.Dispose();
        foreach (var l in _layers) l.Dispose();
    }
}
