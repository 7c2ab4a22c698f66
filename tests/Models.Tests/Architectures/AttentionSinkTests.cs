using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// GPT-OSS's attention sinks are read per layer and head, and keep a model off the native CUDA backend, which has no
/// sinks (the eager backend's sink softmax is checked against transformers by the gpt-oss fixture).
/// </summary>
public class AttentionSinkTests
{
    [Fact]
    public void SinkLayersRunOnTheEagerBackendOnly()
    {
        var (model, _) = ModelLoader.Load(ModelFixture.Dir("gpt-oss"), new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            Assert.All(model.AttentionLayers, a => Assert.Equal(new long[] { a.NumHeads }, a.Sinks!.shape));
            Assert.All(model.AttentionLayers, a => Assert.False(NativeAttentionBackend.Instance.Supports(a)));
            Assert.Equal([8, null], model.AttentionLayers.Select(a => a.SlidingWindow));
        }
    }
}
