using System.Text.Json.Nodes;
using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Fuyu (adept/fuyu-8b): no vision encoder. Each image patch (<see cref="FuyuImageProcessor"/>) goes through one linear
/// layer, vision_embed_tokens, straight into a Persimmon decoder's embedding space; the |NEWLINE| token closing each patch
/// row keeps its own embedding (<see cref="FuyuPlaceholders"/> marks only the patch positions as taking encoder rows). The decoder is built from text_config (transformers runs it from there, and its
/// rotary base can differ from the top-level fields). Checkpoints as the hub's fuyu-8b has them and transformers 5.17
/// saves them (language_model.model.*, language_model.lm_head.*, vision_embed_tokens.*), or under transformers 5's
/// module names (model.language_model.*, lm_head.*, model.vision_embed_tokens.*).
/// </summary>
public sealed class FuyuForCausalLM : ICausalLM, IMultiModalModel
{
    readonly PersimmonForCausalLM _text;
    readonly Linear _visionEmbed;
    readonly int _patchDim;

    public FuyuForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var text = TextConfig(config);
        bool saved5 = weights.Contains("model.language_model.embed_tokens.weight");
        IWeightSource textWeights = saved5
            ? new RenamedWeightSource(weights, n => n.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + n[6..] : n)
            : new RenamedWeightSource(weights, n => "language_model." + n);
        string vision = weights.Contains("model.vision_embed_tokens.weight") ? "model.vision_embed_tokens." : "vision_embed_tokens.";
        int patch = config.IntField("patch_size") ?? 30, channels = config.IntField("num_channels") ?? 3;
        _patchDim = patch * patch * channels;
        _text = new PersimmonForCausalLM(text, textWeights, dtype, device);
        try
        {
            _visionEmbed = new Linear(weights.Load(vision + "weight", [text.HiddenSize, _patchDim], dtype, device),
                weights.Load(vision + "bias", [text.HiddenSize], dtype, device));
        }
        catch { _text.Dispose(); throw; }
    }

    /// <summary>The decoder's config: text_config's fields (with the wrapper's architectures, dtype and tying).</summary>
    static ModelConfig TextConfig(ModelConfig config)
    {
        if (config.Raw["text_config"] is not JsonObject) return config;
        var raw = (JsonObject)config.Raw.DeepClone();
        raw.Remove("hidden_size"); // makes FromJson read the language model's fields from text_config
        return ModelConfig.FromJson(raw) with { ModelDir = config.ModelDir };
    }

    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    /// <summary>The patches' embeddings [rows x cols, hidden] (transformers' get_image_features).</summary>
    public Tensor EmbedPatches(Tensor patches) => _visionEmbed.Forward(patches.to(Device).to_type(DType));

    /// <summary>The rows for the image's |SPEAKER| positions: its patches' embeddings, row by row.</summary>
    public Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        if (image.Shape[2] != _patchDim)
            throw new ArgumentException($"Fuyu image patches have {image.Shape[2]} values, the model's patch_size x patch_size x num_channels is {_patchDim}");
        return EmbedPatches(torch.tensor(image.PixelValues, [image.Shape[0] * image.Shape[1], _patchDim])).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _text.Dispose();
        _visionEmbed.Dispose();
    }
}
