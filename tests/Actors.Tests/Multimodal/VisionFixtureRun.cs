using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// One vision-language fixture folder (expected.json from make_vlm_fixtures.py) through the whole engine on CPU in
/// float32 with a given step budget: each prompt's text and image files in, greedy tokens and top-5 logprobs compared
/// with transformers' by vLLM's rule, and the expanded prompt ids equal to the processor's.
/// </summary>
public static class VisionFixtureRun
{
    public static void AssertMatchesTransformers(string dir, string label, int budget)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var expected = doc.RootElement.GetProperty("prompts").EnumerateArray().ToList();
        using var llm = new LLM(new EngineArgs
        {
            Model = dir, Dtype = "float32", Device = "cpu", MaxModelLen = 128, AllowLongMaxModelLen = true,
            MaxNumBatchedTokens = budget, MaxNumSeqs = 8, NumGpuBlocksOverride = 64,
        });
        var prompts = expected.Select(p => new PromptInput(p.GetProperty("text").GetString(), null,
            p.GetProperty("images").EnumerateArray().Select(i => ImageInput.FromFile(Path.Combine(dir, "images", i.GetString()!))).ToList())).ToList();
        var outputs = llm.Generate(prompts, new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 });
        for (int p = 0; p < expected.Count; p++)
        {
            var e = expected[p];
            var want = new FixturePrompt(
                e.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                e.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                e.GetProperty("logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
                e.GetProperty("top_logprobs").EnumerateArray().Select(o => o.EnumerateObject().ToDictionary(k => int.Parse(k.Name), k => k.Value.GetDouble())).ToArray());
            Assert.Equal(want.PromptTokenIds, outputs[p].PromptTokenIds);
            var o = outputs[p].Outputs.Single();
            GreedyComparison.AssertMatches(want, o.TokenIds, o.Logprobs!.Select(l => l.Top).ToList(), o.Logprobs!.Select(l => l.Logprob).ToList(), 1e-3, $"{label} prompt {p} budget {budget}");
        }
    }
}
