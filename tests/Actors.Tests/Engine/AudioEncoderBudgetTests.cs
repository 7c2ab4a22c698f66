using Pipeline.Actors.Engine;
using Pipeline.Models.Multimodal.Audio;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// A Whisper request's encoder work under the step's encoder budget (vLLM's max_num_encoder_input_tokens): the runner
/// encodes a request's 30 s window (1500 encoder positions from 3000 mel frames) in the step that admits it, so the
/// scheduler admits new audio requests only while the step's budget holds them, and a burst of them is spread over steps
/// while the running ones keep decoding.
/// </summary>
public class AudioEncoderBudgetTests
{
    const int Frames = 3000, EncoderPositions = 1500;

    static Request AudioRequest(string id, int maxTokens = 4) =>
        new(id, [50258, 50259, 50360, 50364], new SamplingParams { MaxTokens = maxTokens, IgnoreEos = true }, [0],
            multiModalFeatures: [MultiModalFeature.ForAudio(new ProcessedAudio([], 80, Frames, 2.0, "audio-" + id))]);

    static Scheduler NewScheduler(int? encoderBudget, int batched = 64, bool async = false) => new(new SchedulerConfig
    {
        MaxNumBatchedTokens = batched, MaxModelLen = 448, NumGpuBlocks = 256, BlockSize = 16, MaxNumSeqs = 16,
        MaxNumEncoderInputTokens = encoderBudget, AsyncScheduling = async,
    });

    /// <summary>Runs the scheduler to the end; per step, the requests admitted (the runner encodes their audio in that step) and the requests decoding.</summary>
    static List<(List<string> Admitted, int Running)> Drain(Scheduler s)
    {
        var steps = new List<(List<string>, int)>();
        while (s.HasUnfinishedRequests && steps.Count < 100)
        {
            var so = s.Schedule();
            steps.Add((so.ScheduledNewReqs.Select(r => r.ReqId).ToList(), so.ScheduledCachedReqs.ReqIds.Count));
            s.UpdateFromOutput(so, Sampled(s, so));
        }
        Assert.False(s.HasUnfinishedRequests);
        return steps;
    }

    [Fact]
    public void Audio_feature_costs_the_encoder_length()
    {
        Assert.Equal(EncoderPositions, AudioRequest("a").MultiModalFeatures[0].EncoderTokens);
    }

    [Fact]
    public void A_burst_of_audio_requests_is_spread_over_steps_within_the_encoder_budget()
    {
        var s = NewScheduler(encoderBudget: 2 * EncoderPositions);
        for (int i = 0; i < 7; i++) s.AddRequest(AudioRequest($"r{i}"));
        var steps = Drain(s);
        // Two windows' encoder work per step; the token budget (64) alone would have admitted all seven at once.
        Assert.Equal([["r0", "r1"], ["r2", "r3"], ["r4", "r5"], ["r6"]], steps.Take(4).Select(x => x.Admitted));
        Assert.All(steps.Skip(4), x => Assert.Empty(x.Admitted));
        // Admitted requests decode meanwhile: step 2 runs r0 and r1 beside the two new ones.
        Assert.Equal(2, steps[1].Running);
        Assert.Equal(4, steps[2].Running);
    }

    [Fact]
    public void A_window_larger_than_the_whole_budget_runs_alone_in_its_step()
    {
        // The default budget of a small engine is max(max_num_batched_tokens, max_model_len) = 448 positions < 1500.
        var s = NewScheduler(encoderBudget: null);
        Assert.True(s.Config.EncoderComputeBudget < EncoderPositions);
        for (int i = 0; i < 3; i++) s.AddRequest(AudioRequest($"r{i}"));
        var steps = Drain(s);
        Assert.Equal([["r0"], ["r1"], ["r2"]], steps.Take(3).Select(x => x.Admitted));
    }

    [Fact]
    public void A_request_resumed_after_preemption_is_encoded_again_under_the_budget()
    {
        // One window per step; KV for about one request, so the others are preempted and recomputed (re-encoded).
        var s = new Scheduler(new SchedulerConfig
        {
            MaxNumBatchedTokens = 64, MaxModelLen = 16, NumGpuBlocks = 4, BlockSize = 4, MaxNumSeqs = 16,
            MaxNumEncoderInputTokens = EncoderPositions, EnablePrefixCaching = false,
        });
        for (int i = 0; i < 4; i++) s.AddRequest(AudioRequest($"r{i}", maxTokens: 8));
        int steps = 0, preemptions = 0, admissions = 0;
        while (s.HasUnfinishedRequests && steps++ < 200)
        {
            var so = s.Schedule();
            preemptions += so.PreemptedReqIds.Count;
            admissions += so.ScheduledNewReqs.Count;
            Assert.True(so.ScheduledNewReqs.Count <= 1, $"step {steps} admitted {so.ScheduledNewReqs.Count} audio requests");
            s.UpdateFromOutput(so, Sampled(s, so));
        }
        Assert.False(s.HasUnfinishedRequests);
        Assert.True(preemptions > 0, "the small KV cache should have preempted someone");
        Assert.Equal(4 + preemptions, admissions);
    }

    [Fact]
    public void Async_scheduling_keeps_the_same_budget()
    {
        var s = NewScheduler(encoderBudget: EncoderPositions, async: true);
        for (int i = 0; i < 3; i++) s.AddRequest(AudioRequest($"r{i}"));
        var first = s.Schedule();
        var second = s.Schedule();                       // planned before the first step's results are folded back
        Assert.Equal(["r0"], first.ScheduledNewReqs.Select(r => r.ReqId));
        Assert.Equal(["r1"], second.ScheduledNewReqs.Select(r => r.ReqId));
        s.UpdateFromOutput(first, Sampled(s, first));
        s.UpdateFromOutput(second, Sampled(s, second));
    }
}
