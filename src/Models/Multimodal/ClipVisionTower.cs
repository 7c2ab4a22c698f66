using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>A CLIP vision_config's values, read once.</summary>
public sealed record ClipVisionOptions(int HiddenSize, int IntermediateSize, int NumLayers, int NumHeads, int ImageSize,
    int PatchSize, int NumChannels, double LayerNormEps, string HiddenAct)
{
    public int NumPatches => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    public static ClipVisionOptions From(JsonObject vision)
    {
        int Int(string k, int d) => vision[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        // SiglipVisionConfig's defaults differ from CLIPVisionConfig's where a field is left out.
        bool siglip = vision["model_type"]?.GetValue<string>() == "siglip_vision_model";
        return new ClipVisionOptions(Int("hidden_size", 768), Int("intermediate_size", 3072), Int("num_hidden_layers", 12),
            Int("num_attention_heads", 12), Int("image_size", 224), Int("patch_size", siglip ? 16 : 32), Int("num_channels", 3),
            vision["layer_norm_eps"] is JsonValue e && e.TryGetValue<double>(out var eps) ? eps : siglip ? 1e-6 : 1e-5,
            vision["hidden_act"]?.GetValue<string>() ?? (siglip ? "gelu_pytorch_tanh" : "quick_gelu"));
    }
}

/// <summary>
/// CLIP's vision transformer as LLaVA uses it (transformers' CLIPVisionModel, vLLM's CLIPVisionModel): patch
/// convolution, class token and learned positions, pre-LayerNorm, then the pre-LN encoder layers it shares with SigLIP
/// (<see cref="VisionEncoderLayer"/>, with a quick-GELU MLP here). It runs only the layers up to the requested feature
/// layer, so the later ones (and post_layernorm) are never needed.
/// </summary>
public sealed class ClipVisionTower : IVisionTower
{
    readonly ClipVisionOptions _o;
    readonly Tensor _patchWeight, _classEmbedding, _positions;
    readonly LayerNorm _preNorm;
    readonly List<VisionEncoderLayer> _layers = new();

    public ClipVisionOptions Options => _o;
    public int LayersRun => _layers.Count;

    /// <param name="prefix">the weights' prefix up to "embeddings." (e.g. "model.vision_tower.vision_model.")</param>
    /// <param name="layersNeeded">how many encoder layers to build (the feature layer's depth)</param>
    public ClipVisionTower(ClipVisionOptions o, IWeightSource w, string prefix, int layersNeeded, ScalarType dtype, Device device)
    {
        _o = o;
        if (layersNeeded < 0 || layersNeeded > o.NumLayers) throw new ModelConfigException($"vision feature layer {layersNeeded} is outside 0..{o.NumLayers}");
        int h = o.HiddenSize;
        Tensor W(string name, params long[] shape) => w.Load(prefix + name, shape, dtype, device);
        LayerNorm Norm(string name) => new(W(name + ".weight", h), W(name + ".bias", h), o.LayerNormEps);
        _patchWeight = W("embeddings.patch_embedding.weight", h, o.NumChannels, o.PatchSize, o.PatchSize);
        _classEmbedding = W("embeddings.class_embedding", h);
        _positions = W("embeddings.position_embedding.weight", o.NumPatches + 1, h);
        _preNorm = Norm("pre_layrnorm");
        var act = Activations.Get(o.HiddenAct);
        for (int i = 0; i < layersNeeded; i++)
            _layers.Add(new VisionEncoderLayer(w, $"{prefix}encoder.layers.{i}.", h, o.IntermediateSize, o.NumHeads, o.LayerNormEps, act, dtype, device));
    }

    /// <summary>The depth of hidden_states[<paramref name="featureLayer"/>] (index 0: the embeddings; negative from the end).</summary>
    public static int LayersFor(int featureLayer, int numLayers) => featureLayer < 0 ? numLayers + 1 + featureLayer : featureLayer;

    /// <summary>pixel_values [N, 3, S, S] to the hidden states after the built layers, [N, 1 + patches, hidden].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        long n = pixelValues.shape[0];
        int h = _o.HiddenSize;
        var patches = nn.functional.conv2d(pixelValues.to_type(_patchWeight.dtype), _patchWeight, strides: [_o.PatchSize, _o.PatchSize]);
        var x = patches.flatten(2).transpose(1, 2); // [N, patches, h]
        if (x.shape[1] != _o.NumPatches)
            throw new ArgumentException($"the image gives {x.shape[1]} patches, the vision tower's positions are for {_o.NumPatches} ({_o.ImageSize}/{_o.PatchSize})");
        x = torch.cat([_classEmbedding.expand(n, 1, h), x], 1) + _positions.unsqueeze(0);
        x = _preNorm.Forward(x);
        foreach (var l in _layers) x = l.Forward(x);
        return x.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _patchWeight.Dispose(); _classEmbedding.Dispose(); _positions.Dispose(); _preNorm.Dispose();
        foreach (var l in _layers) l.Dispose();
    }
}

/// <summary>LLaVA's multi-modal projector: linear, activation (projector_hidden_act), linear.</summary>
public sealed class LlavaProjector(Linear linear1, Linear linear2, Func<Tensor, Tensor> act) : IVisionProjector
{
    public static LlavaProjector Load(IWeightSource w, string prefix, int visionHidden, int textHidden, string act, ScalarType dtype, Device device)
    {
        // multimodal_projector_bias false (transformers' option) saves no biases.
        Linear Lin(string name, long outF, long inF) => new(w.Load(prefix + name + ".weight", [outF, inF], dtype, device),
            w.Contains(prefix + name + ".bias") ? w.Load(prefix + name + ".bias", [outF], dtype, device) : null);
        return new LlavaProjector(Lin("linear_1", textHidden, visionHidden), Lin("linear_2", textHidden, textHidden), Activations.Get(act));
    }

    public Tensor Forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return linear2.Forward(act(linear1.Forward(features))).MoveToOuterDisposeScope();
    }

    public void Dispose() { linear1.Dispose(); linear2.Dispose(); }
}
