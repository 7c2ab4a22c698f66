using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random Idefics3 and SmolVLM (scripts/fixtures/vlm_families/idefics3.py) through the whole engine: the
/// prompt as the chat template rendered it plus the image files, expanded with tile markers, newlines and image tokens,
/// the tiles' features put in place of the image tokens only; with a step budget of 5 the prefill chunks end inside
/// images, between and among the tile markers (whole prefills run over HTTP in VisionChatServerTests). Greedy tokens
/// and top-5 logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class Idefics3GenerationTests
{
    [Theory]
    [InlineData("idefics3", 5)]
    [InlineData("smolvlm", 5)]
    public void One_and_two_image_chats_match_transformers(string model, int budget)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);
        if (!File.Exists(Path.Combine(dir, "expected.json"))) return;
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
            GreedyComparison.AssertMatches(want, o.TokenIds, o.Logprobs!.Select(l => l.Top).ToList(), o.Logprobs!.Select(l => l.Logprob).ToList(), 1e-3, $"{model} prompt {p} budget {budget}");
        }
    }
}
