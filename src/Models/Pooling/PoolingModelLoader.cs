using System.Diagnostics;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Registry;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Pooling;

/// <summary>Builds the registered pooling architecture for a model directory and fills its weights.</summary>
public static class PoolingModelLoader
{
    public static (IPoolingModel Model, TimeSpan Elapsed) Load(string modelDir, LoadOptions options, Device device)
    {
        var sw = Stopwatch.StartNew();
        var config = ModelConfig.Load(modelDir, options.HfOverrides);
        var entry = PoolingModelRegistry.Get(config.Architecture);
        var dtype = ModelLoader.ResolveDtype(options.Dtype, config.TorchDtype, device);
        if (!ModelLoader.LoadFormats.Contains(options.LoadFormat))
            throw new ArgumentException($"--load-format must be one of {string.Join(", ", ModelLoader.LoadFormats)}, got '{options.LoadFormat}'");
        IWeightSource weights = options.LoadFormat == "dummy"
            ? new DummyWeightSource(options.Seed)
            : new SafetensorsWeightSource(WeightStore.Open(modelDir));
        using (weights)
        using (torch.no_grad())
        {
            var model = entry.Create(config, weights, dtype, device);
            var unexpected = weights.Unused().Where(n => !Ignored(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
            if (unexpected.Count > 0)
            {
                model.Dispose();
                throw new WeightLoadException($"unexpected weight(s) for {config.Architecture}: {string.Join(", ", unexpected.Take(10))}{(unexpected.Count > 10 ? $" and {unexpected.Count - 10} more" : "")}");
            }
            return (model, sw.Elapsed);
        }
    }

    // Buffers some checkpoints carry that are recomputed: rotary inv_freq, BERT's position_ids / token_type_ids.
    static bool Ignored(string name) =>
        name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
        || name.EndsWith("embeddings.position_ids", StringComparison.Ordinal)
        || name.EndsWith("embeddings.token_type_ids", StringComparison.Ordinal);
}
