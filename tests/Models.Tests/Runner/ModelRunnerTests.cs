using Pipeline.Models.Loading;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Runner;

/// <summary>
/// The runner driven by hand-made step plans: prompts arrive in chunks (so queries attend to keys computed
/// in earlier steps) and decode steps carry only diffs; outputs must still equal transformers'.
/// </summary>
public class ModelRunnerTests
{
    [Theory]
    [InlineData("llama", 7)]
    [InlineData("mistral-slidingwindow", 5)]
    [InlineData("qwen3-qknorm", 16)]
    [InlineData("llama-gqa-tied-llama3rope", 3)]
    [InlineData("bloom", 5)]
    [InlineData("deepseek-v2-lite", 5)]
    [InlineData("deepseek-v3", 7)]
    public void ChunkedPrefillThenDecodeMatchesTransformers(string variant, int chunk)
    {
        var expected = ModelFixture.Expected(variant);
        var (model, _) = ModelLoader.Load(ModelFixture.Dir(variant), new LoadOptions { Dtype = "float32" }, torch.CPU);
        const int blockSize = 4;
        using var runner = new ModelRunner(model, numBlocks: 200, blockSize: blockSize, eosTokenIds: []);
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 };
        var ids = expected.Select((_, i) => $"r{i}").ToArray();
        var computed = new int[expected.Count];
        var blocks = new List<int>[expected.Count];
        var outputs = expected.Select(_ => new List<int>()).ToArray();
        var lps = expected.Select(_ => new List<TokenLogprobs?>()).ToArray();
        int nextBlock = 0;
        bool first = true;
        using (model)
        {
            while (outputs.Any(o => o.Count < 16))
            {
                var plan = new SchedulerOutput();
                for (int i = 0; i < expected.Count; i++)
                {
                    if (outputs[i].Count >= 16) continue;
                    int total = expected[i].PromptTokenIds.Length + outputs[i].Count;
                    int n = Math.Min(chunk, total - computed[i]);
                    int needBlocks = (computed[i] + n + blockSize - 1) / blockSize;
                    var fresh = new List<int>();
                    blocks[i] ??= new List<int>();
                    while (blocks[i].Count < needBlocks) { blocks[i].Add(nextBlock); fresh.Add(nextBlock++); }
                    if (first) plan.ScheduledNewReqs.Add(new NewRequestData(ids[i], expected[i].PromptTokenIds, sp, expected[i].PromptTokenIds, fresh, 0));
                    else plan.ScheduledCachedReqs.Add(ids[i], fresh, computed[i]);
                    plan.NumScheduledTokens[ids[i]] = n;
                    plan.TotalNumScheduledTokens += n;
                }
                first = false;
                var result = runner.Execute(plan);
                for (int j = 0; j < result.ReqIds.Count; j++)
                {
                    int i = Array.IndexOf(ids, result.ReqIds[j]);
                    computed[i] += plan.NumScheduledTokens[ids[i]];
                    outputs[i].AddRange(result.SampledTokenIds[j]);
                    if (result.SampledTokenIds[j].Length > 0) lps[i].Add(result.Logprobs[j]![0]);
                }
            }
        }
        for (int i = 0; i < expected.Count; i++)
            GreedyComparison.AssertMatches(expected[i], outputs[i], lps[i].Select(l => l?.Top).ToList(), lps[i].Select(l => l!.Logprob).ToList(), 1e-3, $"{variant} prompt {i}");
    }

    [Fact]
    public void PromptLogprobsScoreEachPromptTokenAcrossChunks()
    {
        var expected = ModelFixture.Expected("llama")[2];
        var (model, _) = ModelLoader.Load(ModelFixture.Dir("llama"), new LoadOptions { Dtype = "float32" }, torch.CPU);
        var prompt = expected.PromptTokenIds;
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 1, PromptLogprobs = 2 };
        List<TokenLogprobs> Run(int chunk)
        {
            using var runner = new ModelRunner(model, 100, 4, []);
            var all = new List<TokenLogprobs>();
            int done = 0, blocks = 0;
            while (done < prompt.Length)
            {
                int n = Math.Min(chunk, prompt.Length - done);
                int need = (done + n + 3) / 4;
                var fresh = Enumerable.Range(blocks, need - blocks).ToList();
                blocks = need;
                var plan = new SchedulerOutput();
                if (done == 0) plan.ScheduledNewReqs.Add(new NewRequestData("p", prompt, sp, prompt, fresh, 0));
                else plan.ScheduledCachedReqs.Add("p", fresh, done);
                plan.NumScheduledTokens["p"] = n;
                plan.TotalNumScheduledTokens = n;
                all.AddRange(runner.Execute(plan).PromptLogprobs[0]!);
                done += n;
            }
            return all;
        }
        using (model)
        {
            var whole = Run(prompt.Length);
            var chunked = Run(5);
            Assert.Equal(prompt.Length - 1, whole.Count);
            Assert.Equal(prompt.Skip(1), whole.Select(l => l.TokenId));
            Assert.Equal(whole.Select(l => l.TokenId), chunked.Select(l => l.TokenId));
            for (int i = 0; i < whole.Count; i++)
            {
                Assert.Equal(whole[i].Logprob, chunked[i].Logprob, 1e-4);
                Assert.Equal(2, whole[i].Top.Length);
                Assert.True(whole[i].Rank >= 1);
                Assert.True(whole[i].Top[0].Logprob >= whole[i].Logprob);
            }
        }
    }
}
