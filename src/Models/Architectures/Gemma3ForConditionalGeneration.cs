using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Gemma 3 with images (transformers' and vLLM's Gemma3ForConditionalGeneration): a SigLIP tower
/// (<see cref="SiglipVisionTower"/>, last_hidden_state) and <see cref="Gemma3MultiModalProjector"/> give each image
/// mm_tokens_per_image rows for its soft tokens, in front of the Gemma 3 text decoder (<see cref="Gemma3ForCausalLM"/>).
/// The soft tokens of one image attend to each other bidirectionally during prefill (<see cref="IMmPrefixLM"/>; the ranges
/// come from <see cref="Gemma3Placeholders"/>). Checkpoint layouts: language model under model.language_model.* or
/// language_model.model.*, tower under [model.]vision_tower.[vision_model.], projector under [model.]multi_modal_projector.
/// </summary>
public sealed class Gemma3ForConditionalGeneration : ICausalLM, IMultiModalModel, IMmPrefixLM, ISkipsWeights
{
    readonly ICausalLM _text;
    readonly SiglipVisionTower _tower;
    readonly Gemma3MultiModalProjector _projector;

    public Gemma3ForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var vision = config.Raw["vision_config"] as System.Text.Json.Nodes.JsonObject
            ?? throw new ModelConfigException("config.json: 'vision_config' is required for Gemma3ForConditionalGeneration");
        var options = SiglipVisionOptions.From(vision);
        int tokens = config.Raw["mm_tokens_per_image"] is System.Text.Json.Nodes.JsonValue m && m.TryGetValue<double>(out var mt) ? (int)mt : 256;
        var towerPrefix = SiglipVisionTower.FindPrefix(weights);
        var projector = weights.Contains("model.multi_modal_projector.mm_input_projection_weight") ? "model.multi_modal_projector." : "multi_modal_projector.";
        _text = new Gemma3ForCausalLM(config, LanguageModelWeights(weights), dtype, device);
        try
        {
            _tower = new SiglipVisionTower(options, weights, towerPrefix, dtype, device);
            _projector = new Gemma3MultiModalProjector(weights, projector, options, config.HiddenSize, tokens, dtype, device);
        }
        catch
        {
            _text.Dispose();
            _tower?.Dispose();
            throw;
        }
        SkipPrefixes = [.. _tower.UnusedPrefixes(towerPrefix)];
    }

    /// <summary>The language model's weights as a plain causal LM names them (model.*, lm_head.*).</summary>
    public static IWeightSource LanguageModelWeights(IWeightSource weights) =>
        weights.Contains("model.language_model.embed_tokens.weight")
            ? new RenamedWeightSource(weights, n => n.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + n[6..] : n)
            : weights.Contains("language_model.model.embed_tokens.weight") ? new RenamedWeightSource(weights, n => "language_model." + n) : weights;

    public IReadOnlyList<string> SkipPrefixes { get; }
    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    /// <summary>pixel_values [crops, 3, S, S] (or [3, S, S]) → [crops * mm_tokens_per_image, text hidden].</summary>
    public Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        long[] shape = image.Shape.Length == 3 ? [1, .. image.Shape.Select(x => (long)x)] : [.. image.Shape.Select(x => (long)x)];
        using var pixels = torch.tensor(image.PixelValues, shape).to(Device);
        var rows = _projector.Forward(_tower.Forward(pixels));
        return rows.reshape(-1, rows.shape[^1]).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _text.Dispose();
        _tower.Dispose();
        _projector.Dispose();
    }
}

/// <summary>
/// Gemma 3's multi-modal projector: the tower's patch grid average-pooled to mm_tokens_per_image (kernel = patches per
/// side / tokens per side), a Gemma RMSNorm (1 + w, in float32; eps = the vision layer_norm_eps), then the
/// [vision hidden, text hidden] projection.
/// </summary>
public sealed class Gemma3MultiModalProjector : IDisposable
{
    readonly Tensor _normWeight, _projection;
    readonly int _patchesPerSide, _kernel;
    readonly double _eps;

    public Gemma3MultiModalProjector(IWeightSource w, string prefix, SiglipVisionOptions vision, int textHidden, int tokensPerImage, ScalarType dtype, Device device)
    {
        int side = (int)Math.Round(Math.Sqrt(tokensPerImage));
        if (side * side != tokensPerImage || vision.PatchesPerSide % side != 0)
            throw new ModelConfigException($"config.json: mm_tokens_per_image {tokensPerImage} must be a square whose side divides the {vision.PatchesPerSide} patches per side");
        (_patchesPerSide, _kernel, _eps) = (vision.PatchesPerSide, vision.PatchesPerSide / side, vision.LayerNormEps);
        _normWeight = w.Load(prefix + "mm_soft_emb_norm.weight", [vision.HiddenSize], dtype, device);
        _projection = w.Load(prefix + "mm_input_projection_weight", [vision.HiddenSize, textHidden], dtype, device);
    }

    /// <summary>vision last_hidden_state [N, patches, vision hidden] → [N, mm_tokens_per_image, text hidden].</summary>
    public Tensor Forward(Tensor vision)
    {
        using var scope = NewDisposeScope();
        long n = vision.shape[0], h = vision.shape[2];
        var grid = vision.transpose(1, 2).reshape(n, h, _patchesPerSide, _patchesPerSide).contiguous();
        var pooled = nn.functional.avg_pool2d(grid, [_kernel, _kernel], [_kernel, _kernel]).flatten(2).transpose(1, 2);
        var x = pooled.to_type(ScalarType.Float32);
        var normed = x * torch.rsqrt(x.pow(2).mean([-1], keepdim: true) + _eps) * (_normWeight.to_type(ScalarType.Float32) + 1.0);
        return torch.matmul(normed.to_type(vision.dtype), _projection).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _normWeight.Dispose();
        _projection.Dispose();
    }
}
