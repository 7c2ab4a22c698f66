using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random PaliGemma (scripts/fixtures/vlm_families/gemma.py) through the whole engine: the prompt
/// ("&lt;image&gt;" per image + the question) and the image files, laid out by the preprocessing code as
/// PaliGemmaProcessor does, the whole prompt attending bidirectionally in prefill. With a 40-token budget the second
/// prompt (37 tokens) cannot share the first step and waits instead of being cut. With prefix caching the one-image
/// prompt runs after the two-image one, whose first block holds the same image tokens of the same image: that block's
/// KV saw the other prompt's later tokens, so it must not be reused (the blocks are keyed by the whole prompt).
/// Greedy tokens and top-5 logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class PaliGemmaGenerationTests
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "paligemma");

    [Theory]
    [InlineData(64, false)]
    [InlineData(40, false)]
    [InlineData(64, true)]
    public void One_and_two_image_prompts_match_transformers(int budget, bool twoImagesFirst)
    {
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        var expected = doc.RootElement.GetProperty("prompts").EnumerateArray().ToList();
        using var llm = new LLM(new EngineArgs
        {
            Model = Dir, Dtype = "float32", Device = "cpu", MaxModelLen = 128, AllowLongMaxModelLen = true,
            MaxNumBatchedTokens = budget, MaxNumSeqs = 8, NumGpuBlocksOverride = 64, BlockSize = 16, EnablePrefixCaching = true,
        });
        var order = twoImagesFirst ? new[] { 1, 0 } : [0, 1];
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 };
        PromptInput Input(int p) => new(expected[p].GetProperty("text").GetString(), null,
            expected[p].GetProperty("images").EnumerateArray().Select(i => ImageInput.FromFile(Path.Combine(Dir, "images", i.GetString()!))).ToList());
        var outputs = new Dictionary<int, Output.RequestOutput>();
        if (twoImagesFirst)
            foreach (var p in order) outputs[p] = llm.Generate([Input(p)], sp).Single();
        else
        {
            var both = llm.Generate(order.Select(Input).ToList(), sp);
            for (int i = 0; i < order.Length; i++) outputs[order[i]] = both[i];
        }
        foreach (var p in order)
        {
            var e = expected[p];
            var want = new FixturePrompt(
                e.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                e.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                e.GetProperty("logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
                e.GetProperty("top_logprobs").EnumerateArray().Select(o => o.EnumerateObject().ToDictionary(k => int.Parse(k.Name), k => k.Value.GetDouble())).ToArray());
            Assert.Equal(want.PromptTokenIds, outputs[p].PromptTokenIds);
            var o = outputs[p].Outputs.Single();
            GreedyComparison.AssertMatches(want, o.TokenIds, o.Logprobs!.Select(l => l.Top).ToList(), o.Logprobs!.Select(l => l.Logprob).ToList(), 1e-3, $"paligemma prompt {p} budget {budget}");
        }
        if (twoImagesFirst) Assert.Equal(0, outputs[0].NumCachedTokens);
    }
}
