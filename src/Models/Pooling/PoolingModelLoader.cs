using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Registry;
using static TorchSharp.torch;

namespace Pipeline.Models.Pooling;

/// <summary>Builds the registered (or converted) pooling architecture for a model directory and fills its weights.</summary>
public static class PoolingModelLoader
{
    public static (IPoolingModel Model, TimeSpan Elapsed) Load(string modelDir, LoadOptions options, Device device) =>
        ModelLoader.Build<IPoolingModel>(modelDir, options, device, c => ModelRegistry.Get(c.Architecture).PoolingModel.Invoke);

    /// <summary>Loads the pooling model a <see cref="RunnerSelection"/> chose (a causal LM converted by --convert included).</summary>
    public static (IPoolingModel Model, TimeSpan Elapsed) Load(string modelDir, LoadOptions options, Device device, RunnerSelection selection) =>
        ModelLoader.Build<IPoolingModel>(modelDir, options, device, c => (selection.Pooling
            ?? throw new ArgumentException($"{c.Architecture} runs as a generative model, not a pooling model (--runner {selection.Runner.ToString().ToLowerInvariant()})")).PoolingModel.Invoke);
}
