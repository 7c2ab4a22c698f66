using System.Text.Json;
using Pipeline.Models.Cache;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// Multi-head latent attention caches the compressed latent, not K and V: per token and layer, kv_lora_rank +
/// qk_rope_head_dim values (vLLM's MLAAttentionSpec), with the sizes read here straight from config.json.
/// </summary>
public class MlaCacheTests
{
    [Theory]
    [InlineData("deepseek-v2-lite")]
    [InlineData("deepseek-v3")]
    public void CacheHoldsLatentAndRopePartPerTokenPerLayer(string variant)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelFixture.Dir(variant), "config.json")));
        var c = doc.RootElement;
        int layers = c.GetProperty("num_hidden_layers").GetInt32();
        int perToken = c.GetProperty("kv_lora_rank").GetInt32() + c.GetProperty("qk_rope_head_dim").GetInt32();
        const int blockSize = 16, float32 = 4;
        long expectedPerBlock = (long)layers * blockSize * perToken * float32;

        var (model, _) = ModelLoader.Load(ModelFixture.Dir(variant), new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var config = model.KVCacheConfig(blockSize);
            Assert.All(config.LayerSpecs, s => Assert.IsType<MlaAttentionSpec>(s));
            Assert.Equal(expectedPerBlock, config.BytesPerBlock);
            // The sizer divides the budget by that page size.
            Assert.Equal(37, KVCacheSizer.NumBlocks(model, blockSize, 0.9, kvCacheMemoryBytes: expectedPerBlock * 37 + 5, maxModelLen: 64, maxNumSeqs: 100));

            var backend = AttentionBackends.For(model);
            Assert.Same(TorchAttentionBackend.Instance, backend);
            Assert.All(model.AttentionLayers, a => Assert.False(NativeAttentionBackend.Instance.Supports(a)));
            using var cache = OneShotForward.AllocateCache(model, 37, blockSize, backend);
            // Allocated: the 37 blocks plus the scratch block, nothing more.
            long bytes = cache.Keys.Concat(cache.Values).Sum(t => t.NumberOfElements * float32);
            Assert.Equal(38 * expectedPerBlock, bytes);
            Assert.All(cache.Keys, k => Assert.Equal(new long[] { 1, 38 * blockSize, perToken }, k.shape)); // the eager backend caches head-major
        }
    }
}

/// <summary>DeepSeek-V3 checkpoints keep num_nextn_predict_layers multi-token-prediction layers after the last one; loading skips them, as vLLM does.</summary>
public class DeepseekMtpWeightsTests
{
    static string WithExtraWeight(string name)
    {
        var dir = Directory.CreateTempSubdirectory("deepseek-v3").FullName;
        foreach (var f in Directory.GetFiles(ModelFixture.Dir("deepseek-v3")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var path = Path.Combine(dir, "model.safetensors");
        var tensors = Pipeline.Models.Tests.Loading.SafetensorsTestWriter.ReadAll(path);
        tensors.Add((name, [4], [1f, 2f, 3f, 4f]));
        Pipeline.Models.Tests.Loading.SafetensorsTestWriter.Write(path, tensors);
        return dir;
    }

    [Fact]
    public void MultiTokenPredictionLayerIsSkippedButOtherExtraWeightsAreNot()
    {
        // config.json: num_hidden_layers 2, num_nextn_predict_layers 1, so layer 2 is the MTP layer.
        var mtp = WithExtraWeight("model.layers.2.enorm.weight");
        ModelLoader.Load(mtp, new LoadOptions { Dtype = "float32" }, torch.CPU).Model.Dispose();
        var stray = WithExtraWeight("model.layers.3.enorm.weight");
        var e = Assert.ThrowsAny<Exception>(() => ModelLoader.Load(stray, new LoadOptions { Dtype = "float32" }, torch.CPU).Model.Dispose());
        Assert.Contains("model.layers.3.enorm.weight", e.Message);
        Directory.Delete(mtp, true);
        Directory.Delete(stray, true);
    }
}
