using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random LLaVA-1.5 and LLaVA-NeXT (and Fuyu, BLIP-2, whose prompt is the bare question) (scripts/fixtures/make_vlm_fixtures.py) through the whole engine: the prompt as the chat
/// template rendered it plus the image files, expanded by the preprocessing code, the image features put in place of
/// the placeholders by the runner, with a step budget small enough that prefill chunks cut through the image tokens.
/// Greedy tokens and top-5 logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class LlavaGenerationTests
{
    [Theory]
    [InlineData("llava-1.5", 64)]
    [InlineData("llava-1.5", 5)]
    [InlineData("llava-next", 128)]
    [InlineData("llava-next", 7)]
    [InlineData("llava-onevision", 7)]
    [InlineData("aya-vision", 7)]
    [InlineData("fuyu", 7)]
    [InlineData("blip2", 4)]
    public void One_and_two_image_chats_match_transformers(string fixture, int budget)
    {
        var Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", fixture);
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        var expected = doc.RootElement.GetProperty("prompts").EnumerateArray().ToList();
        using var llm = new LLM(new EngineArgs
        {
            Model = Dir, Dtype = "float32", Device = "cpu", MaxModelLen = 128, AllowLongMaxModelLen = true,
            MaxNumBatchedTokens = budget, MaxNumSeqs = 8, NumGpuBlocksOverride = 64,
        });
        var prompts = expected.Select(p => new PromptInput(p.GetProperty("text").GetString(), null,
            p.GetProperty("images").EnumerateArray().Select(i => ImageInput.FromFile(Path.Combine(Dir, "images", i.GetString()!))).ToList())).ToList();
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
            GreedyComparison.AssertMatches(want, o.TokenIds, o.Logprobs!.Select(l => l.Top).ToList(), o.Logprobs!.Select(l => l.Logprob).ToList(), 1e-3, $"{fixture} prompt {p} budget {budget}");
        }
    }
}
