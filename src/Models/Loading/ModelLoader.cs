using System.Diagnostics;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Registry;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>Options that decide how a model directory becomes a model in memory.</summary>
public sealed record LoadOptions
{
    public string Dtype { get; init; } = "auto";
    public string LoadFormat { get; init; } = "auto";
    public string? HfOverrides { get; init; }
    public long Seed { get; init; }
}

/// <summary>Builds the registered architecture for a model directory and fills its weights.</summary>
public static partial class ModelLoader
{
    public static readonly string[] DtypeChoices = ["auto", "float32", "float16", "bfloat16"];
    public static readonly string[] LoadFormats = ["auto", "safetensors", "dummy"];

    public static (ICausalLM Model, TimeSpan Elapsed) Load(string modelDir, LoadOptions options, Device device) =>
        Build<ICausalLM>(modelDir, options, device, c => ModelRegistry.Get(c.Architecture).CausalLM.Invoke);

    /// <summary>
    /// Reads config.json, picks the implementation, fills its weights (or random ones for dummy) and refuses
    /// checkpoints with weights the implementation did not use. Shared by generative and pooling models.
    /// </summary>
    public static (T Model, TimeSpan Elapsed) Build<T>(string modelDir, LoadOptions options, Device device,
        Func<ModelConfig, Func<ModelConfig, IWeightSource, ScalarType, Device, T>> implementation) where T : IDisposable
    {
        var sw = Stopwatch.StartNew();
        var config = ModelConfig.Load(modelDir, options.HfOverrides);
        var create = implementation(config);
        var dtype = ResolveDtype(options.Dtype, config.TorchDtype, device);
        if (!LoadFormats.Contains(options.LoadFormat))
            throw new ArgumentException($"--load-format must be one of {string.Join(", ", LoadFormats)}, got '{options.LoadFormat}'");
        IWeightSource weights = options.LoadFormat == "dummy"
            ? new DummyWeightSource(options.Seed)
            : new SafetensorsWeightSource(WeightStore.Open(modelDir));
        using (weights)
        using (torch.no_grad())
        {
            var model = create(config, weights, dtype, device);
            var skipped = (model as ISkipsWeights)?.SkipPrefixes ?? [];
            var unexpected = weights.Unused().Where(n => !IgnoredWeight(n) && !skipped.Any(p => n.StartsWith(p, StringComparison.Ordinal)))
                .OrderBy(n => n, StringComparer.Ordinal).ToList();
            if (unexpected.Count > 0)
            {
                model.Dispose();
                throw new WeightLoadException($"unexpected weight(s) for {config.Architecture}: {string.Join(", ", unexpected.Take(10))}{(unexpected.Count > 10 ? $" and {unexpected.Count - 10} more" : "")}");
            }
            if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
            return (model, sw.Elapsed);
        }
    }

    // Buffers some checkpoints carry that are recomputed: rotary inv_freq, BERT's position_ids / token_type_ids,
    // GPT-2's (and GPT-J's) causal mask `h.N.attn.bias` and `h.N.attn.masked_bias`.
    static bool IgnoredWeight(string name) =>
        name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
        || name.EndsWith("embeddings.position_ids", StringComparison.Ordinal)
        || name.EndsWith("embeddings.token_type_ids", StringComparison.Ordinal)
        || CausalMaskBuffer().IsMatch(name);

    [System.Text.RegularExpressions.GeneratedRegex(@"(^|\.)h\.\d+\.attn\.(masked_)?bias$")]
    private static partial System.Text.RegularExpressions.Regex CausalMaskBuffer();

    public static ScalarType ResolveDtype(string option, string? configDtype, Device device)
    {
        switch (option)
        {
            case "float32": case "float": return ScalarType.Float32;
            case "float16": case "half": return ScalarType.Float16;
            case "bfloat16": return ScalarType.BFloat16;
            case "auto":
                bool cuda = device.type == DeviceType.CUDA;
                return configDtype switch
                {
                    "bfloat16" => ScalarType.BFloat16,
                    "float16" => ScalarType.Float16,
                    // vLLM serves float32 checkpoints in half precision on GPUs; CPUs keep float32.
                    "float32" => cuda ? ScalarType.Float16 : ScalarType.Float32,
                    _ => cuda ? ScalarType.BFloat16 : ScalarType.Float32,
                };
            default:
                throw new ArgumentException($"--dtype must be one of {string.Join(", ", DtypeChoices)}, got '{option}'");
        }
    }
}
