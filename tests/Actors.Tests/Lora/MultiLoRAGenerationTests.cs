using Pipeline.Actors.Engine;
using Pipeline.Models.Lora;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Lora;

/// <summary>
/// Requests for every adapter and for the base model submitted together, so each engine step mixes them (a small step
/// budget also cuts prefills into chunks), give transformers+peft's greedy tokens and top-5 logprobs by vLLM's rule
/// (CPU, float32). A second round of the same prompts runs over a warm prefix cache, which must keep adapters apart.
/// With one GPU slot and one CPU slot, adapters are swapped in and out of both between steps and still match.
/// </summary>
public class MultiLoRAGenerationTests
{
    static readonly SamplingParams Greedy = new() { Temperature = 0, MaxTokens = 16, IgnoreEos = true, Logprobs = 5 };

    static void RunAndCheck(LLM llm, IReadOnlyList<(string? Adapter, FixturePrompt Prompt)> cases, string label)
    {
        var ids = LoRAFixture.Adapters.Select((a, i) => (a, i)).ToDictionary(x => x.a, x => LoRAFixture.Request(x.a, x.i + 1));
        var outputs = llm.Generate(cases.Select(c => PromptInput.FromIds(c.Prompt.PromptTokenIds)).ToList(),
            Enumerable.Repeat(Greedy, cases.Count).ToList(), loraRequests: cases.Select(c => c.Adapter == null ? null : ids[c.Adapter]).ToList());
        for (int i = 0; i < cases.Count; i++)
        {
            var o = outputs[i].Outputs.Single();
            GreedyComparison.AssertMatches(cases[i].Prompt, o.TokenIds, o.Logprobs!.Select(l => l.Top).ToList(), o.Logprobs!.Select(l => l.Logprob).ToList(),
                1e-3, $"{label}: {cases[i].Adapter ?? "base"} prompt of {cases[i].Prompt.PromptTokenIds.Length} tokens");
        }
    }

    static LLM Engine(int maxLoras, int? maxCpuLoras = null) => new(new EngineArgs
    {
        Model = LoRAFixture.BaseDir, Dtype = "float32", Device = "cpu", MaxModelLen = 128, MaxNumBatchedTokens = 24, MaxNumSeqs = 16,
        NumGpuBlocksOverride = 128, EnableLora = true, MaxLoras = maxLoras, MaxLoraRank = 16, MaxCpuLoras = maxCpuLoras,
    });

    [Fact]
    public void Base_and_every_adapter_in_the_same_steps_match_peft()
    {
        if (!LoRAFixture.Present) return;
        var cases = LoRAFixture.Cases();
        // The fixture is only a test of LoRA if the adapters change the output.
        foreach (var a in LoRAFixture.Adapters)
            Assert.Contains(LoRAFixture.Expected(a).Zip(LoRAFixture.Expected(null)), p => !p.First.TokenIds.SequenceEqual(p.Second.TokenIds));
        using var llm = Engine(maxLoras: LoRAFixture.Adapters.Length);
        RunAndCheck(llm, cases, "mixed");
        long hitsBefore = llm.Core.Scheduler.PrefixCacheStats.Hits;
        cases.Reverse();
        RunAndCheck(llm, cases, "mixed, warm prefix cache");
        Assert.True(llm.Core.Scheduler.PrefixCacheStats.Hits > hitsBefore, "the second round should hit the prefix cache");
    }

    [Fact]
    public void One_gpu_slot_and_one_cpu_slot_swap_adapters_between_steps()
    {
        if (!LoRAFixture.Present) return;
        using var llm = Engine(maxLoras: 1, maxCpuLoras: 1);
        RunAndCheck(llm, LoRAFixture.Cases(), "max_loras 1");
        Assert.True(llm.Context.Lora!.SlotLoads >= LoRAFixture.Adapters.Length);
        Assert.Single(llm.Context.Lora.CpuLoras);
    }
}
