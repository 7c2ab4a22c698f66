using System.Text.Json;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>Qwen2ForRewardModel (vLLM's score head: Linear, ReLU, Linear on every token) against transformers' per-token rewards.</summary>
public class RewardModelTests
{
    static readonly string Dir = PoolingFixture.Dir("qwen2-reward");

    static List<(int[] Ids, float[][] Rewards)> Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        Assert.Equal("Qwen2ForRewardModel", doc.RootElement.GetProperty("architecture").GetString());
        return doc.RootElement.GetProperty("inputs").EnumerateArray().Select(e => (
            e.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            e.GetProperty("rewards").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray())).ToList();
    }

    [Fact]
    public void PerTokenRewardsMatchTransformers()
    {
        var expected = Expected();
        using var model = PoolingModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, torch.CPU).Model;
        Assert.Equal(1, model.OutputSize);
        Assert.Equal(0, model.NumLabels);
        var runner = new PoolingRunner(model, Dir);
        Assert.Equal(PoolingType.ALL, runner.PoolerConfigFor(PoolingTask.Reward).PoolingType);
        var rows = runner.EncodeTokens(expected.Select(e => e.Ids).ToList());
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Rewards.Length, rows[i].Length);
            for (int t = 0; t < rows[i].Length; t++)
                Assert.True(Vec.MaxAbsDiff(rows[i][t], expected[i].Rewards[t]) <= 1e-4,
                    $"input {i} token {t}: {rows[i][t][0]} vs transformers {expected[i].Rewards[t][0]}");
        }
        var last = runner.EncodeTokens(expected.Select(e => e.Ids).ToList(), new PoolingParams { PoolingType = PoolingType.LAST });
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Rewards[^1][0], last[i][0][0], 1e-4);
    }

    [Fact]
    public void ARewardModelHasNoEmbedOrClassifyTask()
    {
        using var model = PoolingModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, torch.CPU).Model;
        var runner = new PoolingRunner(model, Dir);
        var ex = Assert.Throws<PoolingException>(() => runner.Embed([[1, 2, 3]]));
        Assert.Contains("supports reward only", ex.Message);
        ex = Assert.Throws<PoolingException>(() => runner.Classify([[1, 2, 3]]));
        Assert.Contains("supports reward only", ex.Message);
        Assert.Equal(["reward"], Pipeline.Models.Registry.ModelRegistry.Get("Qwen2ForRewardModel").Tasks);
    }
}
