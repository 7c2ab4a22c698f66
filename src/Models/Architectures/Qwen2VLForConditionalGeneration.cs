using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Qwen2-VL: the vision transformer (<see cref="Qwen2VisionTransformer"/>) in front of a Qwen2 decoder that rotates by
/// M-RoPE positions (temporal, height, width), which the runner computes per request from the image grids
/// (<see cref="ISupportsMRope"/>). Both checkpoint layouts load: model.layers.* + visual.* (as the Qwen checkpoints and
/// transformers 5 save them) and model.language_model.* + model.visual.*.
/// </summary>
public class Qwen2VLForConditionalGeneration : ICausalLM, IMultiModalModel, ISupportsMRope
{
    readonly ICausalLM _text;
    readonly Qwen2VisionTransformer _visual;

    public Qwen2VLForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
        : this(config, weights, dtype, device, qwen25: false) { }

    protected Qwen2VLForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device, bool qwen25)
    {
        if (config.Rope.MRopeSection is null)
            throw new ModelConfigException("config.json: the language model's rope parameters need 'mrope_section' (Qwen2-VL's M-RoPE)");
        var vision = config.Raw["vision_config"] as System.Text.Json.Nodes.JsonObject
            ?? throw new ModelConfigException("config.json: 'vision_config' is required for Qwen2-VL");
        IWeightSource textWeights = weights.Contains("model.language_model.embed_tokens.weight")
            ? new RenamedWeightSource(weights, n => n.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + n[6..] : n)
            : weights;
        string visual = weights.Contains("model.visual.patch_embed.proj.weight") ? "model.visual." : "visual.";
        var options = Qwen2VisionOptions.From(vision, qwen25);
        if (options.OutHiddenSize != config.HiddenSize)
            throw new ModelConfigException($"config.json: the vision merger's output ({options.OutHiddenSize}) must equal the language model's hidden_size ({config.HiddenSize})");
        _text = new Qwen2ForCausalLM(config, textWeights, dtype, device);
        try { _visual = new Qwen2VisionTransformer(options, weights, visual, dtype, device); }
        catch { _text.Dispose(); throw; }
    }

    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    public Tensor EncodeImage(ProcessedImage image)
    {
        var (t, h, w) = Grid(image);
        using var scope = NewDisposeScope();
        using var pixels = torch.tensor(image.PixelValues, [image.Shape[0], image.Shape[1]]);
        return _visual.Forward(pixels, t, h, w).MoveToOuterDisposeScope();
    }

    public MRopePositions GetMRopeInputPositions(int numPromptTokens, IReadOnlyList<(int Offset, ProcessedImage Image)> images)
    {
        int m = _visual.Options.SpatialMergeSize;
        // Images are one temporal patch (the processor repeats the picture over temporal_patch_size), so their
        // temporal index is 0 whatever Qwen2.5-VL's tokens_per_second scaling would make of it.
        return MRopePositions.ForPrompt(numPromptTokens, images.Select(i =>
        {
            var (t, h, w) = Grid(i.Image);
            return (i.Offset, t, h / m, w / m);
        }));
    }

    static (int T, int H, int W) Grid(ProcessedImage image) => image.GridThw is [var t, var h, var w]
        ? (t, h, w)
        : throw new ArgumentException("a Qwen2-VL image needs its grid_thw (use the model's Qwen2VLImageProcessor)");

    public void Dispose()
    {
        _text.Dispose();
        _visual.Dispose();
    }
}
