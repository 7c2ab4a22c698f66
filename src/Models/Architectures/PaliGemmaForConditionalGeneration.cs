using System.Text.Json.Nodes;
using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// PaliGemma (transformers' and vLLM's PaliGemmaForConditionalGeneration): a SigLIP tower (last_hidden_state) and one
/// Linear (multi_modal_projector.linear) give each patch a row for an &lt;image&gt; token, in front of a Gemma decoder
/// (Gemma 2 for PaliGemma 2). A prefix LM: the whole prompt (images, bos, text, "\n") attends bidirectionally during
/// prefill (<see cref="IMmPrefixLM"/>, ranges from <see cref="PaliGemmaPlaceholders"/>), and, as in transformers, rotary
/// positions start at 1. The rows are not scaled (transformers 5 scales only the token embeddings by sqrt(hidden)).
/// </summary>
public sealed class PaliGemmaForConditionalGeneration : ICausalLM, IMultiModalModel, IMmPrefixLM, ISkipsWeights
{
    readonly ICausalLM _text;
    readonly SiglipVisionTower _tower;
    readonly Linear _projector;

    public PaliGemmaForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var vision = config.Raw["vision_config"] as JsonObject
            ?? throw new ModelConfigException("config.json: 'vision_config' is required for PaliGemmaForConditionalGeneration");
        var options = SiglipVisionOptions.From(vision);
        var textWeights = Gemma3ForConditionalGeneration.LanguageModelWeights(weights);
        // The checkpoints' text_config leaves GemmaConfig's defaults out (hidden_act gelu_pytorch_tanh).
        if (config.Field("hidden_act") is null && config.Field("hidden_activation") is null) config = config with { HiddenAct = "gelu_pytorch_tanh" };
        _text = config.ModelType switch
        {
            "gemma" => new GemmaForCausalLM(config, textWeights, dtype, device),
            "gemma2" => new Gemma2ForCausalLM(config, textWeights, dtype, device),
            var other => throw new ModelConfigException($"PaliGemma with a '{other}' language model is not supported (gemma, gemma2)"),
        };
        var towerPrefix = SiglipVisionTower.FindPrefix(weights);
        var projector = weights.Contains("model.multi_modal_projector.linear.weight") ? "model.multi_modal_projector.linear." : "multi_modal_projector.linear.";
        int projection = config.Raw["projection_dim"] is JsonValue p && p.TryGetValue<double>(out var pd) ? (int)pd : config.HiddenSize;
        try
        {
            _tower = new SiglipVisionTower(options, weights, towerPrefix, dtype, device);
            _projector = new Linear(weights.Load(projector + "weight", [projection, options.HiddenSize], dtype, device),
                weights.Load(projector + "bias", [projection], dtype, device));
        }
        catch
        {
            _text.Dispose();
            _tower?.Dispose();
            throw;
        }
        SkipPrefixes = [.. _tower.UnusedPrefixes(towerPrefix)];
    }

    public IReadOnlyList<string> SkipPrefixes { get; }
    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    /// <summary>The decoder with every position one higher (PaliGemma's position_ids are 1-indexed), put back afterwards.</summary>
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx)
    {
        ctx.Positions.add_(1);
        try { return _text.Forward(inputIds, inputsEmbeds, ctx); }
        finally { ctx.Positions.sub_(1); }
    }

    /// <summary>pixel_values [3, S, S] → [patches, text hidden].</summary>
    public Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        long[] shape = image.Shape.Length == 3 ? [1, .. image.Shape.Select(x => (long)x)] : [.. image.Shape.Select(x => (long)x)];
        using var pixels = tensor(image.PixelValues, shape).to(Device);
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
