using Pipeline.Models.Cache;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>What state-space layers declare and cost: specs from the fixtures' configs, sizing, and the state tensors.</summary>
public class StateCacheTests
{
    [Fact]
    public void MambaDeclaresOneStatePerLayerAndNeedsNoBlocks()
    {
        var (model, _) = ModelLoader.Load(ModelFixture.Dir("mamba"), new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var config = model.KVCacheConfig(16);
            Assert.False(config.HasAttention);
            // intermediate 128, conv kernel 4, state 8 (config.json), two layers.
            Assert.All(config.StateSpecs, s => Assert.Equal(new MambaSpec(16, torch.ScalarType.Float32, 128, 4, 128, 1, 8), s));
            Assert.Equal(2, config.StateSpecs.Count);
            long perSlot = 2 * (128 * 3 + 128 * 8) * 4L;
            Assert.Equal(perSlot, config.StateBytesPerSlot);
            // The sizer only checks the states fit; the block count is one max_model_len sequence's, never allocated.
            Assert.Equal(8, KVCacheSizer.NumBlocks(model, 16, 0.9, kvCacheMemoryBytes: perSlot * 4 + 1, maxModelLen: 128, maxNumSeqs: 4));
            Assert.Throws<InvalidOperationException>(() => KVCacheSizer.NumBlocks(model, 16, 0.9, kvCacheMemoryBytes: perSlot * 4, maxModelLen: 128, maxNumSeqs: 4));
            using var cache = OneShotForward.AllocateCache(model, 8, 16, AttentionBackends.For(model), numStateSlots: 4);
            Assert.Empty(cache.Keys);
            Assert.All(cache.ConvStates, t => Assert.Equal(new long[] { 5, 128, 3 }, t.shape));   // 4 slots + scratch
            Assert.All(cache.SsmStates, t => Assert.Equal(new long[] { 5, 128, 1, 8 }, t.shape));
        }
    }

    [Fact]
    public void HybridIndexesAttentionAndStateLayersByRank()
    {
        var (model, _) = ModelLoader.Load(ModelFixture.Dir("jamba"), new LoadOptions { Dtype = "float32" }, torch.CPU);
        using (model)
        {
            var config = model.KVCacheConfig(16);
            // attn_layer_period 2, offset 1: layers 1 and 3 attend, 0 and 2 are Mamba.
            Assert.Equal([0, 1], model.AttentionLayers.Select(a => a.LayerIndex));
            Assert.Equal(2, config.LayerSpecs.Count);
            Assert.Equal(2, config.StateSpecs.Count);
            // The states of max_num_seqs requests come out of the budget before blocks are counted.
            long budget = config.StateBytesPerSlot * 4 + config.BytesPerBlock * 10;
            Assert.Equal(10, KVCacheSizer.NumBlocks(model, 16, 0.9, kvCacheMemoryBytes: budget, maxModelLen: 128, maxNumSeqs: 4));
        }
    }
}
