using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>A SigLIP vision_config's values (transformers' SiglipVisionConfig defaults where a field is absent).</summary>
public sealed record SiglipVisionOptions(int HiddenSize, int IntermediateSize, int NumLayers, int NumHeads, int ImageSize,
    int PatchSize, int NumChannels, double LayerNormEps, string HiddenAct)
{
    public int PatchesPerSide => ImageSize / PatchSize;
    public int NumPatches => PatchesPerSide * PatchesPerSide;

    public static SiglipVisionOptions From(JsonObject vision)
    {
        int Int(string k, int d) => vision[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        return new SiglipVisionOptions(Int("hidden_size", 768), Int("intermediate_size", 3072), Int("num_hidden_layers", 12),
            Int("num_attention_heads", 12), Int("image_size", 224), Int("patch_size", 16), Int("num_channels", 3),
            vision["layer_norm_eps"] is JsonValue e && e.TryGetValue<double>(out var eps) ? eps : 1e-6,
            vision["hidden_act"]?.GetValue<string>() ?? "gelu_pytorch_tanh");
    }
}

/// <summary>
/// SigLIP's vision transformer (transformers' SiglipVisionModel without its pooling head, vLLM's SiglipVisionModel), as
/// Gemma 3, PaliGemma, LLaVA-OneVision and others put it in front of a language model: patch convolution plus learned
/// position embeddings (no class token, no pre-LayerNorm), the pre-LN encoder layers it shares with CLIP
/// (<see cref="VisionEncoderLayer"/>, GELU-tanh MLP), and post_layernorm.
/// <para>
/// <see cref="Forward"/> gives last_hidden_state (every layer, then post_layernorm) when no feature layer is asked for;
/// with <c>featureLayer</c> it gives hidden_states[featureLayer] (index 0: the embeddings; negative from the end), which
/// transformers takes before post_layernorm, and builds only the layers that needs. <see cref="Encode"/> runs the
/// encoder (and post_layernorm when built) on embeddings a model computes itself (e.g. Idefics3's bucketed positions).
/// </para>
/// </summary>
public sealed class SiglipVisionTower : IVisionTower
{
    readonly Tensor _patchWeight, _patchBias, _positions;
    readonly LayerNorm? _postNorm;
    readonly List<VisionEncoderLayer> _layers = new();

    public SiglipVisionOptions Options { get; }
    public int LayersRun => _layers.Count;
    public bool AppliesPostLayerNorm => _postNorm != null;

    /// <param name="prefix">the weights' prefix up to "embeddings." (e.g. "model.vision_tower.vision_model."; see <see cref="FindPrefix"/>)</param>
    /// <param name="featureLayer">null: last_hidden_state; else the hidden_states index to return (no post_layernorm)</param>
    public SiglipVisionTower(SiglipVisionOptions o, IWeightSource w, string prefix, ScalarType dtype, Device device, int? featureLayer = null)
    {
        Options = o;
        int layers = featureLayer is int f ? (f < 0 ? o.NumLayers + 1 + f : f) : o.NumLayers;
        if (layers < 0 || layers > o.NumLayers) throw new ModelConfigException($"vision feature layer {featureLayer} is outside the SigLIP tower's {o.NumLayers} layers");
        int h = o.HiddenSize;
        Tensor W(string name, params long[] shape) => w.Load(prefix + name, shape, dtype, device);
        _patchWeight = W("embeddings.patch_embedding.weight", h, o.NumChannels, o.PatchSize, o.PatchSize);
        _patchBias = W("embeddings.patch_embedding.bias", h);
        _positions = W("embeddings.position_embedding.weight", o.NumPatches, h);
        var act = Activations.Get(o.HiddenAct);
        try
        {
            for (int i = 0; i < layers; i++)
                _layers.Add(new VisionEncoderLayer(w, $"{prefix}encoder.layers.{i}.", h, o.IntermediateSize, o.NumHeads, o.LayerNormEps, act, dtype, device));
            if (featureLayer is null)
                _postNorm = new LayerNorm(W("post_layernorm.weight", h), W("post_layernorm.bias", h), o.LayerNormEps);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// The first of <paramref name="candidates"/> (default: the layouts transformers has saved, with or without "model."
    /// and "vision_model.") under which the checkpoint has the tower's patch embedding.
    /// </summary>
    public static string FindPrefix(IWeightSource w, params string[] candidates)
    {
        if (candidates.Length == 0)
            candidates = ["model.vision_tower.vision_model.", "vision_tower.vision_model.", "model.vision_tower.", "vision_tower."];
        return candidates.FirstOrDefault(p => w.Contains(p + "embeddings.patch_embedding.weight"))
            ?? throw new WeightLoadException($"the checkpoint has no SigLIP vision tower ({string.Join(" or ", candidates.Select(c => c + "embeddings.patch_embedding.weight"))})");
    }

    /// <summary>Names of the checkpoint's tower weights this tower does not use (later layers, post_layernorm), for ISkipsWeights.</summary>
    public IEnumerable<string> UnusedPrefixes(string prefix)
    {
        for (int i = _layers.Count; i < Options.NumLayers; i++) yield return $"{prefix}encoder.layers.{i}.";
        if (_postNorm == null) yield return prefix + "post_layernorm.";
        yield return prefix + "head.";
    }

    /// <summary>pixel_values [N, C, S, S] (S = image_size) → [N, patches, hidden].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var patches = nn.functional.conv2d(pixelValues.to_type(_patchWeight.dtype), _patchWeight, _patchBias, strides: [Options.PatchSize, Options.PatchSize]);
        var x = patches.flatten(2).transpose(1, 2); // [N, patches, h]
        if (x.shape[1] != Options.NumPatches)
            throw new ArgumentException($"the image gives {x.shape[1]} patches, the SigLIP tower's positions are for {Options.NumPatches} ({Options.ImageSize}/{Options.PatchSize} per side)");
        return Encode(x + _positions.unsqueeze(0)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The encoder layers (then post_layernorm when built) over embeddings [N, S, hidden]; <paramref name="mask"/> is an
    /// additive attention bias broadcast to [N, heads, S, S] (null: every position sees every other).
    /// </summary>
    public Tensor Encode(Tensor embeddings, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        var x = embeddings;
        foreach (var l in _layers) x = l.Forward(x, mask);
        if (_postNorm != null) x = _postNorm.Forward(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The patch convolution's weight [hidden, C, P, P] and bias, and the position table [patches, hidden], for models that embed differently.</summary>
    public (Tensor PatchWeight, Tensor PatchBias, Tensor Positions) EmbeddingWeights => (_patchWeight, _patchBias, _positions);

    public void Dispose()
    {
        _patchWeight?.Dispose(); _patchBias?.Dispose(); _positions?.Dispose(); _postNorm?.Dispose();
        foreach (var l in _layers) l.Dispose();
    }
}
