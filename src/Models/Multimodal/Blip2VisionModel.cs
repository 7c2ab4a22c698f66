using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>A BLIP-2 vision_config's values (Blip2VisionConfig's defaults where absent), read once.</summary>
public sealed record Blip2VisionOptions(int HiddenSize, int IntermediateSize, int NumLayers, int NumHeads, int ImageSize,
    int PatchSize, double LayerNormEps, string HiddenAct)
{
    public int NumPatches => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    public static Blip2VisionOptions From(JsonObject? vision)
    {
        vision ??= new JsonObject();
        int Int(string k, int d) => vision[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        return new Blip2VisionOptions(Int("hidden_size", 1408), Int("intermediate_size", 6144), Int("num_hidden_layers", 39),
            Int("num_attention_heads", 16), Int("image_size", 224), Int("patch_size", 14),
            vision["layer_norm_eps"] is JsonValue e && e.TryGetValue<double>(out var eps) ? eps : 1e-6,
            vision["hidden_act"]?.GetValue<string>() ?? "gelu");
    }
}

/// <summary>
/// BLIP-2's vision transformer (transformers' Blip2VisionModel, vLLM's BlipVisionModel): patch convolution with bias,
/// class token and learned positions (no pre-norm, unlike CLIP), pre-LN layers whose attention is one qkv projection
/// (its bias q_bias, zeros, v_bias) and a GELU MLP, then post_layernorm over every token.
/// </summary>
public sealed class Blip2VisionModel : IDisposable
{
    sealed record Layer(LayerNorm Norm1, Linear Qkv, Linear Projection, LayerNorm Norm2, Linear Fc1, Linear Fc2);

    readonly Blip2VisionOptions _o;
    readonly Tensor _patchWeight, _patchBias, _classEmbedding, _positions;
    readonly LayerNorm _postNorm;
    readonly List<Layer> _layers = new();
    readonly Func<Tensor, Tensor> _act;

    public Blip2VisionOptions Options => _o;

    /// <param name="prefix">the weights' prefix up to "embeddings." (e.g. "vision_model.")</param>
    public Blip2VisionModel(Blip2VisionOptions o, IWeightSource w, string prefix, ScalarType dtype, Device device)
    {
        _o = o;
        int h = o.HiddenSize;
        Tensor W(string name, params long[] shape) => w.Load(prefix + name, shape, dtype, device);
        LayerNorm Norm(string name) => new(W(name + ".weight", h), W(name + ".bias", h), o.LayerNormEps);
        Linear Lin(string name, long outF, long inF) => new(W(name + ".weight", outF, inF), W(name + ".bias", outF));
        _patchWeight = W("embeddings.patch_embedding.weight", h, 3, o.PatchSize, o.PatchSize);
        _patchBias = W("embeddings.patch_embedding.bias", h);
        _classEmbedding = W("embeddings.class_embedding", 1, 1, h);
        _positions = W("embeddings.position_embedding", 1, o.NumPatches + 1, h);
        for (int i = 0; i < o.NumLayers; i++)
        {
            var p = $"encoder.layers.{i}.";
            _layers.Add(new Layer(Norm(p + "layer_norm1"), Qkv(w, prefix + p + "self_attn.", h, dtype, device), Lin(p + "self_attn.projection", h, h),
                Norm(p + "layer_norm2"), Lin(p + "mlp.fc1", o.IntermediateSize, h), Lin(p + "mlp.fc2", h, o.IntermediateSize)));
        }
        _postNorm = Norm("post_layernorm");
        _act = Activations.Get(o.HiddenAct);
    }

    /// <summary>transformers 5 saves the fused bias as qkv.bias; older checkpoints keep q_bias and v_bias (k has none).</summary>
    static Linear Qkv(IWeightSource w, string p, int h, ScalarType dtype, Device device)
    {
        var weight = w.Load(p + "qkv.weight", [3 * h, h], dtype, device);
        Tensor? bias = null;
        if (w.Contains(p + "qkv.bias")) bias = w.Load(p + "qkv.bias", [3 * h], dtype, device);
        else if (w.Contains(p + "q_bias"))
        {
            using var q = w.Load(p + "q_bias", [h], dtype, device);
            using var v = w.Load(p + "v_bias", [h], dtype, device);
            using var k = torch.zeros(h, dtype: dtype, device: device);
            bias = torch.cat([q, k, v]);
        }
        return new Linear(weight, bias);
    }

    /// <summary>pixel_values [N, 3, S, S] to the last hidden state after post_layernorm, [N, 1 + patches, hidden].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        long n = pixelValues.shape[0];
        int h = _o.HiddenSize, heads = _o.NumHeads, d = h / heads;
        var patches = nn.functional.conv2d(pixelValues.to_type(_patchWeight.dtype), _patchWeight, _patchBias, strides: [_o.PatchSize, _o.PatchSize]);
        var x = patches.flatten(2).transpose(1, 2);
        if (x.shape[1] != _o.NumPatches)
            throw new ArgumentException($"the image gives {x.shape[1]} patches, the vision model's positions are for {_o.NumPatches} ({_o.ImageSize}/{_o.PatchSize})");
        x = torch.cat([_classEmbedding.expand(n, 1, h), x], 1) + _positions;
        double scale = 1.0 / Math.Sqrt(d);
        foreach (var l in _layers)
        {
            var qkv = l.Qkv.Forward(l.Norm1.Forward(x)).view(n, -1, 3, heads, d).permute(2, 0, 3, 1, 4);
            var probs = torch.softmax(torch.matmul(qkv[0], qkv[1].transpose(-1, -2)) * scale, -1);
            var o = torch.matmul(probs, qkv[2]).transpose(1, 2).reshape(n, -1, h);
            x = x + l.Projection.Forward(o);
            x = x + l.Fc2.Forward(_act(l.Fc1.Forward(l.Norm2.Forward(x))));
        }
        return _postNorm.Forward(x).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in new[] { _patchWeight, _patchBias, _classEmbedding, _positions }) t.Dispose();
        _postNorm.Dispose();
        foreach (var l in _layers)
            foreach (var m in new IDisposable[] { l.Norm1, l.Qkv, l.Projection, l.Norm2, l.Fc1, l.Fc2 }) m.Dispose();
    }
}
