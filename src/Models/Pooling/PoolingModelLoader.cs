using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Registry;
using static TorchSharp.torch;

namespace Pipeline.Models.Pooling;

/// <summary>Builds the registered pooling architecture for a model directory and fills its weights.</summary>
public static class PoolingModelLoader
{
    public static (IPoolingModel Model, TimeSpan Elapsed) Load(string modelDir, LoadOptions options, Device device) =>
        ModelLoader.Build(modelDir, options, device, c => PoolingModelRegistry.Get(c.Architecture).Create);
}
