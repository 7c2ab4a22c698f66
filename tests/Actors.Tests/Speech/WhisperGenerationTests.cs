using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Speech;
using Pipeline.Models.Sampling;
using Xunit.Abstractions;

namespace Pipeline.Actors.Tests.Speech;

/// <summary>
/// The tiny random Whisper models (scripts/fixtures/make_whisper_fixtures.py) through the whole engine: the clip file
/// decoded and featurized here, the encoder run once per request, the decoder over the paged cache and the
/// continuous-batching scheduler (all cases of a model in one batch), the decoder prompt, language detection,
/// suppress tokens and timestamp rules; greedy tokens compared with transformers' generate.
/// </summary>
public class WhisperGenerationTests(ITestOutputHelper output)
{
    static readonly string Models = Path.Combine(AppContext.BaseDirectory, "fixtures", "audio", "reference", "models");
    static readonly string Clips = Path.Combine(AppContext.BaseDirectory, "fixtures", "audio");

    /// <summary>The engine as a <see cref="GenerateRequest"/>: each request runs alone to its final output.</summary>
    internal static GenerateRequest Generate(LLM llm) => (prompt, sp, ct) => One(llm.Generate([prompt], sp)[0]);

    static async IAsyncEnumerable<RequestOutput> One(RequestOutput o, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await Task.Yield();
        yield return o;
    }

    internal static LLM Load(string dir, int budget = 256) => new(new EngineArgs
    {
        Model = dir, Dtype = "float32", Device = "cpu", MaxNumBatchedTokens = budget, MaxNumSeqs = 16, NumGpuBlocksOverride = 128,
    });

    [Theory]
    [InlineData("whisper-tiny")]
    [InlineData("whisper-tiny-128")]
    public async Task Greedy_tokens_match_transformers_generate(string name)
    {
        var dir = Path.Combine(Models, name);
        if (!File.Exists(Path.Combine(dir, "expected.json"))) return;
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")))!;
        int maxNew = expected["max_new_tokens"]!.GetValue<int>();
        using var llm = Load(dir);
        var stt = SpeechToText.For(llm.Context, Generate(llm))!;
        foreach (var c in expected["cases"]!.AsArray())
        {
            var clip = c!["clip"]!.GetValue<string>();
            var p = new SpeechToTextParams
            {
                Language = c["language"]?.GetValue<string>(), Task = c["task"]!.GetValue<string>(),
                Timestamps = c["timestamps"]!.GetValue<bool>(), MaxTokens = maxNew,
            };
            TranscriptionResult? result = null;
            await foreach (var o in stt.RunAsync(File.ReadAllBytes(Path.Combine(Clips, clip)), p)) result = o.Result ?? result;
            var want = c["token_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
            var got = result!.ChunkTokenIds.Single();
            string what = $"{name} {clip} language={p.Language ?? "detect"} {p.Task} timestamps={p.Timestamps}";
            output.WriteLine($"{what}\n  transformers {string.Join(",", want)}\n  pipeline     {string.Join(",", got)}");
            int lang = c["decoder_prompt"]![1]!.GetValue<int>();
            Assert.Equal(stt.Whisper.LanguageOf(lang), result.Language);
            Assert.Equal(want, got);
            // the fixture's text is the tokenizers library's decode of transformers' tokens; timestamps are not text
            Assert.Equal(System.Text.RegularExpressions.Regex.Replace(c["text"]!.GetValue<string>(), @"<\|\d+\.\d\d\|>", ""), result.Text);
        }
    }
}
