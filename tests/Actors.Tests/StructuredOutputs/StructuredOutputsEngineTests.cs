using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;
using Pipeline.Models.Tests.Fixtures;
using static Pipeline.Models.Tests.StructuredOutputs.StructuredTestData;

namespace Pipeline.Actors.Tests.StructuredOutputs;

/// <summary>
/// Structured outputs through the whole offline engine over random-weight fixture models, at temperature 1 across many
/// seeds: constrained requests batched with unconstrained ones, with n > 1, under a KV cache so small that requests are
/// preempted (their matchers are rebuilt by replaying the output), with prefix caching and with async scheduling. Every
/// constrained output is checked by an independent reference (JsonSchema.Net, .NET Regex).
/// </summary>
public class StructuredOutputsEngineTests
{
    const string SmallSchema = """
    {"type":"object","properties":{"a":{"type":"integer","minimum":-9,"maximum":99},"b":{"enum":["x","yz"]},
     "c":{"type":"array","items":{"type":"boolean"},"maxItems":2},"d":{"type":"string","maxLength":4}},"required":["a","b"],"additionalProperties":false}
    """;
    const string NestedSchema = """
    {"type":"object","properties":{"p":{"type":"object","properties":{"q":{"anyOf":[{"type":"null"},{"type":"number","minimum":0,"maximum":5}]}},"required":["q"]}},"required":["p"]}
    """;
    const string Regex1 = @"[a-c]{2,4}-\d{1,2}";

    static EngineArgs Args(string variant, int blocks, int budget, bool async = false) => new()
    {
        Model = ModelFixture.Dir(variant),
        Dtype = "float32",
        Device = "cpu",
        MaxModelLen = 128,
        AllowLongMaxModelLen = true,
        MaxNumBatchedTokens = budget,
        MaxNumSeqs = 64,
        NumGpuBlocksOverride = blocks,
        AsyncScheduling = async,
    };

    static string Text(TokenizerVocab vocab, IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.Where(t => !vocab.IsEos(t)).SelectMany(t => vocab.BytesOf(t) ?? []).ToArray());

    static void Check(StructuredOutputsParams? so, CompletionOutput o, TokenizerVocab vocab, string context)
    {
        if (so == null) return;
        Assert.Equal("stop", o.FinishReason);
        var text = Text(vocab, o.TokenIds);
        if (so.Json != null) AssertValid(so.Json, text, context);
        else if (so.Regex != null) Assert.Matches(new Regex($"^(?:{so.Regex})\\z"), text);
        else if (so.Choice != null) Assert.Contains(text, so.Choice);
    }

    static readonly StructuredOutputsParams?[] Constraints =
    [
        new() { Json = SmallSchema },
        null,
        new() { Json = NestedSchema },
        new() { Regex = Regex1 },
        new() { Choice = ["alpha", "beta", "gamma delta"] },
        null,
    ];

    [Theory]
    [InlineData("llama", false)]
    [InlineData("qwen3-qknorm", true)]
    public void ConstrainedAndFreeRequestsShareBatchesAcrossSeeds(string variant, bool async)
    {
        var vocab = FixtureVocab();
        using var llm = new LLM(ModelContext.Load(Args(variant, blocks: 64, budget: 256, async)), Args(variant, 64, 256, async), vocab);
        var prompts = new List<PromptInput>();
        var sps = new List<SamplingParams>();
        for (int seed = 0; seed < 12; seed++)
        {
            // A shared prompt prefix (prefix caching) with a per-request tail.
            prompts.Add(PromptInput.FromIds([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 30 + seed % 40]));
            sps.Add(new SamplingParams
            {
                Temperature = 1.0f, Seed = seed, MaxTokens = 100, N = seed % 3 == 0 ? 2 : 1,
                StructuredOutputs = Constraints[seed % Constraints.Length],
            });
        }
        llm.Generate([prompts[0]], [sps[0]]); // fills the prefix cache with the shared prefix
        var outputs = llm.Generate(prompts, sps);
        for (int i = 0; i < outputs.Count; i++)
        {
            Assert.Equal(sps[i].N, outputs[i].Outputs.Count);
            foreach (var o in outputs[i].Outputs) Check(sps[i].StructuredOutputs, o, vocab, $"{variant} request {i} seq {o.Index}");
        }
        Assert.True(outputs.Any(o => o.NumCachedTokens > 0), "the shared prefix should hit the prefix cache");
    }

    [Fact]
    public void PreemptedRequestsReplayTheirGrammar()
    {
        var vocab = FixtureVocab();
        var args = Args("llama", blocks: 8, budget: 32);
        using var llm = new LLM(ModelContext.Load(args), args, vocab);
        var prompts = Enumerable.Range(0, 12).Select(i => PromptInput.FromIds([3 + i, 40, 41, 42, 43])).ToList();
        var sps = Enumerable.Range(0, 12).Select(i => new SamplingParams
        {
            Temperature = 1.0f, Seed = 100 + i, MaxTokens = 100,
            StructuredOutputs = i % 2 == 0 ? new StructuredOutputsParams { Json = SmallSchema } : new StructuredOutputsParams { Regex = Regex1 },
        }).ToList();
        var outputs = llm.Generate(prompts, sps);
        for (int i = 0; i < outputs.Count; i++) Check(sps[i].StructuredOutputs, outputs[i].Outputs.Single(), vocab, $"request {i}");
        Assert.True(llm.Core.Scheduler.MakeStats().NumPreemptionsTotal > 0, "the small KV cache should have forced preemptions");
    }

    [Fact]
    public void SameSeedGivesTheSameConstrainedOutput()
    {
        var vocab = FixtureVocab();
        var args = Args("llama", blocks: 64, budget: 256);
        using var llm = new LLM(ModelContext.Load(args), args, vocab);
        var sp = new SamplingParams { Temperature = 1.0f, Seed = 42, MaxTokens = 100, StructuredOutputs = new() { Json = SmallSchema } };
        var a = llm.Generate([PromptInput.FromIds([5, 6, 7])], sp)[0].Outputs[0].TokenIds;
        var b = llm.Generate([PromptInput.FromIds([5, 6, 7])], sp)[0].Outputs[0].TokenIds;
        Assert.Equal(a, b);
    }

    [Fact]
    public void WithoutAVocabularyConstraintsAreRefused()
    {
        var args = Args("llama", blocks: 64, budget: 256);
        using var llm = new LLM(args);
        var e = Assert.Throws<SamplingParamsException>(() =>
            llm.Generate([PromptInput.FromIds([5, 6, 7])], new SamplingParams { StructuredOutputs = new() { Regex = "a+" } }));
        Assert.Equal("structured_outputs", e.Field);
    }
}
