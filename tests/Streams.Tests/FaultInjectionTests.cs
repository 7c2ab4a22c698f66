using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Sampling;

namespace Pipeline.Streams.Tests;

/// <summary>
/// Stages throw at random while 200 requests run: every request must end, within a bound, with the output a
/// sequential run gives or with an explicit error; and once faults stop, the pipeline serves normally.
/// </summary>
public class FaultInjectionTests
{
    [Theory]
    [InlineData("tokenizer", 0.2)]
    [InlineData("detokenizer", 0.1)]
    [InlineData("gpu", 0.1)]
    [InlineData("all", 0.03)]
    public async Task EveryRequestEndsCorrectlyOrWithAnExplicitError(string stage, double probability)
    {
        var rnd = new Random(11);
        var jobs = Enumerable.Range(0, 200).Select(_ => (Prompt: Enumerable.Range(0, rnd.Next(3, 20)).Select(_ => rnd.Next(3, 512)).ToArray(), Max: rnd.Next(1, 10))).ToList();
        var greedy = new SamplingParams { Temperature = 0, IgnoreEos = true };
        List<int[]> expected;
        using (var llm = new LLM(PipelineHarness.Args("llama")))
            expected = jobs.Select(j => llm.Generate([PromptInput.FromIds(j.Prompt)], greedy with { MaxTokens = j.Max })[0].Outputs[0].TokenIds.ToArray()).ToList();

        var stages = stage == "all" ? new[] { "tokenizer", "detokenizer", "gpu" } : new[] { stage };
        var faults = new FaultInjector(probability, seed: 5, stages);
        await using var h = new PipelineHarness(options: new PipelineOptions { Faults = faults, StageTimeout = TimeSpan.FromSeconds(5) }, maxNumSeqs: 16, budget: 64);
        var outcomes = await Task.WhenAll(jobs.Select(async (j, i) =>
        {
            try
            {
                var r = await h.Engine.GenerateFinalAsync(PromptInput.FromIds(j.Prompt), greedy with { MaxTokens = j.Max }, $"f{i}");
                return (Ok: true, Tokens: r.Outputs[0].TokenIds.ToArray(), Error: (Exception?)null);
            }
            catch (PipelineStageException e) { return (Ok: false, Tokens: Array.Empty<int>(), Error: (Exception?)e); }
        })).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.True(faults.Injected > 0, $"faults should have been injected ({stage}: {outcomes.Count(o => o.Ok)} ok)");
        int ok = 0;
        for (int i = 0; i < jobs.Count; i++)
        {
            if (!outcomes[i].Ok) { Assert.Contains("failed in the", outcomes[i].Error!.Message); continue; }
            ok++;
            Assert.Equal(expected[i], outcomes[i].Tokens);
        }
        // Each injected fault fails at most the requests of one message; the rest must succeed.
        Assert.True(ok > 50, $"most requests should still succeed, {ok} did ({faults.Injected} faults injected)");
        Console.WriteLine($"{stage}: {ok}/200 ok, {faults.Injected} faults injected");

        faults.Enabled = false;
        var after = await h.Engine.GenerateFinalAsync(PromptInput.FromIds(jobs[0].Prompt), greedy with { MaxTokens = jobs[0].Max }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(expected[0], after.Outputs[0].TokenIds);
        var stats = await h.Engine.GetStatsAsync();
        Assert.Equal(0, stats.Sum(s => s.Scheduler.NumRunningReqs + s.Scheduler.NumWaitingReqs));
    }
}
