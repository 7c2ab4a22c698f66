using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Registry;
using TorchSharp;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>
/// --runner pooling --convert embed|classify|reward on a causal LM, against transformers' hidden states of the same
/// weights (the llama-embed fixture rewritten as a LlamaForCausalLM checkpoint).
/// </summary>
public class ConvertTests
{
    static readonly List<PoolingFixtureInput> Expected = PoolingFixture.Expected("llama-embed");

    static PoolingRunner Converted(string dir, string convert)
    {
        var selection = RunnerSelection.Resolve("LlamaForCausalLM", "pooling", convert);
        var (model, _) = PoolingModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU, selection);
        return new PoolingRunner(model, dir);
    }

    static float[] Normalize(float[] v) => v.Select(x => (float)(x / Vec.Norm(v))).ToArray();

    [Fact]
    public void EmbedIsTheNormalizedLastHiddenState()
    {
        var dir = CausalLmCheckpoint.FromBase(PoolingFixture.Dir("llama-embed"));
        var runner = Converted(dir, "embed");
        using var _ = runner.Model;
        var embeddings = runner.Embed(Expected.Select(e => e.InputIds).ToList());
        for (int i = 0; i < Expected.Count; i++)
        {
            var want = Normalize(Expected[i].LastHiddenState![^1]);
            Assert.True(Vec.MaxAbsDiff(embeddings[i], want) <= 1e-4 && Vec.Cosine(embeddings[i], want) >= 0.9999,
                $"input {i}: max abs diff {Vec.MaxAbsDiff(embeddings[i], want)}");
        }
    }

    [Fact]
    public void AutoConvertOfAPoolingRunnerIsEmbed()
    {
        var s = RunnerSelection.Resolve("Qwen3ForCausalLM", "pooling");
        Assert.Equal(ConvertType.Embed, s.Convert);
        Assert.Contains("embed", s.Tasks);
    }

    [Fact]
    public void RewardReturnsEveryTokensHiddenState()
    {
        var dir = CausalLmCheckpoint.FromBase(PoolingFixture.Dir("llama-embed"));
        var runner = Converted(dir, "reward");
        using var _ = runner.Model;
        var rows = runner.EncodeTokens(Expected.Select(e => e.InputIds).ToList());
        for (int i = 0; i < Expected.Count; i++)
        {
            Assert.Equal(Expected[i].InputIds.Length, rows[i].Length);
            for (int t = 0; t < rows[i].Length; t++)
                Assert.True(Vec.MaxAbsDiff(rows[i][t], Expected[i].LastHiddenState![t]) <= 1e-4, $"input {i} token {t}");
        }
    }

    [Fact]
    public void ClassifyAppliesTheScoreHeadToTheLastToken()
    {
        int labels = 3, hidden = Expected[0].LastHiddenState![0].Length;
        var rng = new Random(11);
        var score = Enumerable.Range(0, labels * hidden).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var dir = CausalLmCheckpoint.FromBase(PoolingFixture.Dir("llama-embed"), "LlamaForCausalLM", ("score.weight", [labels, hidden], score));
        var cfgPath = Path.Combine(dir, "config.json");
        File.WriteAllText(cfgPath, File.ReadAllText(cfgPath).Replace("\"vocab_size\"", "\"num_labels\": 3, \"vocab_size\""));
        var runner = Converted(dir, "classify");
        using var _ = runner.Model;
        var probs = runner.Classify(Expected.Select(e => e.InputIds).ToList());
        for (int i = 0; i < Expected.Count; i++)
        {
            var last = Expected[i].LastHiddenState![^1];
            var logits = Enumerable.Range(0, labels).Select(l => Enumerable.Range(0, hidden).Sum(h => (double)score[l * hidden + h] * last[h])).ToArray();
            var want = logits.Select(x => (float)(Math.Exp(x - logits.Max()) / logits.Sum(y => Math.Exp(y - logits.Max())))).ToArray();
            Assert.True(Vec.MaxAbsDiff(probs[i], want) <= 1e-4, $"input {i}: [{string.Join(", ", probs[i])}] vs [{string.Join(", ", want)}]");
        }
    }

    [Fact]
    public void ClassifyWithoutAScoreWeightIsAClearError()
    {
        var dir = CausalLmCheckpoint.FromBase(PoolingFixture.Dir("llama-embed"));
        var ex = Assert.Throws<WeightLoadException>(() => Converted(dir, "classify"));
        Assert.Contains("score.weight", ex.Message);
    }

    [Theory]
    [InlineData("LlamaForCausalLM", "generate", "embed", "needs --runner pooling")]
    [InlineData("BertModel", "generate", "auto", "is a pooling model")]
    [InlineData("BertModel", "pooling", "classify", "already a pooling model")]
    [InlineData("LlamaForCausalLM", "pooling", "none", "not a pooling model")]
    [InlineData("LlamaForCausalLM", "sideways", "auto", "--runner must be one of")]
    [InlineData("LlamaForCausalLM", "pooling", "rerank", "--convert must be one of")]
    [InlineData("FancyNewForCausalLM", "pooling", "embed", "not supported")]
    public void BadCombinationsAreNamed(string arch, string runner, string convert, string message)
    {
        var ex = Assert.ThrowsAny<Exception>(() => RunnerSelection.Resolve(arch, runner, convert));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void AutoRunnerFollowsTheArchitecture()
    {
        Assert.Equal(RunnerType.Generate, RunnerSelection.Resolve("LlamaForCausalLM").Runner);
        Assert.Equal(RunnerType.Pooling, RunnerSelection.Resolve("BertModel").Runner);
        Assert.Equal(RunnerType.Pooling, RunnerSelection.Resolve("LlamaForCausalLM", sentenceTransformers: true).Runner);
        var c = RunnerSelection.Resolve("Qwen2ForCausalLM", "auto", "classify");
        Assert.Equal((RunnerType.Pooling, ConvertType.Classify), (c.Runner, c.Convert));
        Assert.Equal(["classify", "score"], c.Tasks);
    }
}
