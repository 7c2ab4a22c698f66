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
/// BLIP-2 (Salesforce/blip2-opt-*): the BLIP vision transformer (<see cref="Blip2VisionModel"/>), the Q-Former whose
/// num_query_tokens learned queries attend to the image (<see cref="Blip2QFormer"/>), language_projection to the
/// decoder's width, and an OPT decoder; the projected queries replace the image tokens the prompt starts with. The
/// Q-Former and the query tokens stay in float32 whatever the model's dtype (transformers' _keep_in_fp32_modules).
/// </summary>
public sealed class Blip2ForConditionalGeneration : ICausalLM, IMultiModalModel
{
    readonly ICausalLM _text;
    readonly Blip2VisionModel _vision;
    readonly Blip2QFormer _qformer;
    readonly Tensor _queryTokens;
    readonly Linear _projection;

    public Blip2ForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var textType = config.StringField("model_type");
        if (textType != "opt")
            throw new ModelConfigException($"BLIP-2 with a '{textType}' language model is not supported yet (opt)");
        IWeightSource textWeights = new RenamedWeightSource(weights, n => "language_model." + n);
        // transformers ties the OPT head to the embeddings unless told otherwise; a checkpoint without a head is tied.
        var textConfig = weights.Contains("language_model.lm_head.weight") ? config : config with { TieWordEmbeddings = true };
        var vision = Blip2VisionOptions.From(config.Raw["vision_config"] as System.Text.Json.Nodes.JsonObject);
        var qformer = Blip2QFormerOptions.From(config.Raw["qformer_config"] as System.Text.Json.Nodes.JsonObject, vision.HiddenSize);
        int queries = config.Raw["num_query_tokens"] is System.Text.Json.Nodes.JsonValue q && q.TryGetValue<double>(out var nq) ? (int)nq : 32;
        var disposables = new List<IDisposable>();
        try
        {
            _text = new OPTForCausalLM(textConfig, textWeights, dtype, device);
            disposables.Add(_text);
            _vision = new Blip2VisionModel(vision, weights, "vision_model.", dtype, device);
            disposables.Add(_vision);
            _qformer = new Blip2QFormer(qformer, weights, "qformer.", ScalarType.Float32, device);
            disposables.Add(_qformer);
            _queryTokens = weights.Load("query_tokens", [1, queries, qformer.HiddenSize], ScalarType.Float32, device);
            disposables.Add(_queryTokens);
            _projection = new Linear(weights.Load("language_projection.weight", [config.HiddenSize, qformer.HiddenSize], dtype, device),
                weights.Load("language_projection.bias", [config.HiddenSize], dtype, device));
        }
        catch
        {
            foreach (var d in disposables) d.Dispose();
            throw;
        }
    }

    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    /// <summary>pixel_values [N, 3, S, S] to the projected query outputs [N, num_query_tokens, text hidden] (get_image_features).</summary>
    public Tensor Encode(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var image = _vision.Forward(pixelValues.to(Device));
        var queries = _qformer.Forward(_queryTokens.expand(image.shape[0], -1, -1), image.to_type(ScalarType.Float32));
        return _projection.Forward(queries.to_type(image.dtype)).MoveToOuterDisposeScope();
    }

    public Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        var pixels = torch.tensor(image.PixelValues, [1, .. image.Shape.Select(x => (long)x)]);
        return Encode(pixels).squeeze(0).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _text.Dispose();
        _vision.Dispose();
        _qformer.Dispose();
        _queryTokens.Dispose();
        _projection.Dispose();
    }
}
