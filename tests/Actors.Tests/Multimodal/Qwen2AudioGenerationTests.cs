using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random Qwen2-Audio (scripts/fixtures/make_audio_lm_fixtures.py) through the whole engine: the prompt as the
/// chat template rendered it plus the WAV clips, decoded, turned into Whisper features and expanded by the
/// preprocessing code, each clip's encoder rows put in place of its &lt;|AUDIO|&gt; tokens from the encoder cache; with a
/// step budget of 5 the prefill chunks cut through the audio tokens and the two requests (which share the first clip,
/// encoded once) interleave. Greedy tokens and top-5 logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class Qwen2AudioGenerationTests
{
    [Theory]
    [InlineData(128)]
    [InlineData(5)]
    public void One_and_two_clip_chats_match_transformers(int budget)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "qwen2-audio");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var expected = doc.RootElement.GetProperty("prompts").EnumerateArray().ToList();
        using var llm = new LLM(new EngineArgs
        {
            Model = dir, Dtype = "float32", Device = "cpu", MaxModelLen = 160, AllowLongMaxModelLen = true,
            MaxNumBatchedTokens = budget, MaxNumSeqs = 8, NumGpuBlocksOverride = 64,
        });
        var prompts = expected.Select(p => new PromptInput(p.GetProperty("text").GetString(), null)
        {
            AudioClips = p.GetProperty("audio").EnumerateArray().Select(a => AudioInput.FromFile(Path.Combine(dir, "audio", a.GetString()!))).ToList(),
        }).ToList();
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
            GreedyComparison.AssertMatches(want, o.TokenIds, o.Logprobs!.Select(l => l.Top).ToList(), o.Logprobs!.Select(l => l.Logprob).ToList(), 1e-3, $"qwen2-audio prompt {p} budget {budget}");
        }
    }
}
