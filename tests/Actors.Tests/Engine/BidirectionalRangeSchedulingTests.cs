using Pipeline.Actors.Engine;
using Pipeline.Models.Forward;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// Bidirectional ranges (vLLM's mm prefix-LM ranges with disable_chunked_mm_input): a prefill chunk never ends inside
/// one, a range that cannot fit the step's budget is refused when the request is added, and the prefix cache keys every
/// block a range overlaps by the whole range (PaliGemma: a prompt block's KV depends on the prompt's later tokens).
/// </summary>
public class BidirectionalRangeSchedulingTests
{
    static Request RangeRequest(string id, int[] prompt, params (int Start, int Length)[] ranges) =>
        new(id, prompt, new SamplingParams { MaxTokens = 2, IgnoreEos = true }, [0])
        {
            BidirectionalRanges = ranges.Select(r => new PositionRange(r.Start, r.Length)).ToList(),
        };

    static Scheduler NewScheduler(int batched, bool prefixCaching = false) => new(new SchedulerConfig
    {
        MaxNumBatchedTokens = batched, MaxModelLen = 256, NumGpuBlocks = 64, BlockSize = 4, MaxNumSeqs = 8,
        EnablePrefixCaching = prefixCaching,
    });

    [Fact]
    public void Prefill_chunks_end_at_range_boundaries_and_each_range_is_computed_in_one_step()
    {
        var s = NewScheduler(batched: 5);
        s.AddRequest(RangeRequest("a", Enumerable.Range(100, 20).ToArray(), (3, 4), (8, 5)));
        var chunks = new List<(int From, int Count)>();
        int steps = 0;
        while (s.HasUnfinishedRequests && steps++ < 40)
        {
            var so = s.Schedule();
            if (so.NumScheduledTokens.TryGetValue("a", out int n)) chunks.Add((s.GetRequest("a")!.NumComputedTokens, n));
            s.UpdateFromOutput(so, Sampled(s, so));
        }
        // 0-2 (stops before the range 3-6), 3-7 (the range and one more), 8-12 (the range 8-12 whole), 13-17, 18-19 + decode.
        Assert.Equal([(0, 3), (3, 5), (8, 5), (13, 5), (18, 2), (20, 1)], chunks);
    }

    [Fact]
    public void A_second_request_in_the_step_is_cut_before_its_range_and_waits_for_room()
    {
        var s = NewScheduler(batched: 8);
        s.AddRequest(RangeRequest("a", Enumerable.Range(100, 5).ToArray()));
        s.AddRequest(RangeRequest("b", Enumerable.Range(200, 12).ToArray(), (0, 6)));
        var so = s.Schedule();
        Assert.Equal(5, so.NumScheduledTokens["a"]);
        Assert.False(so.NumScheduledTokens.ContainsKey("b"));          // 3 tokens left: the range 0-5 does not fit, nothing before it
        s.UpdateFromOutput(so, Sampled(s, so));
        so = s.Schedule();
        Assert.Equal(7, so.NumScheduledTokens["b"]);                   // a decodes (1), b takes the range and one more
    }

    [Fact]
    public void A_range_longer_than_a_step_is_refused_with_both_numbers()
    {
        var s = NewScheduler(batched: 8);
        var e = Assert.Throws<ArgumentException>(() => s.AddRequest(RangeRequest("a", Enumerable.Range(100, 12).ToArray(), (0, 12))));
        Assert.Contains("12 tokens", e.Message);
        Assert.Contains("at most 8", e.Message);
    }

    [Fact]
    public void Blocks_of_a_range_are_keyed_by_the_whole_range()
    {
        // Two prompts equal in their first block, different later inside the same bidirectional range: no block is shared.
        int[] p1 = [1, 2, 3, 4, 5, 6, 7, 8, 9], p2 = [1, 2, 3, 4, 5, 6, 7, 9, 9];
        var a = RangeRequest("a", p1, (0, 9));
        var b = RangeRequest("b", p2, (0, 9));
        BlockHasher.UpdateBlockHashes(a, 4);
        BlockHasher.UpdateBlockHashes(b, 4);
        Assert.NotEqual(a.BlockHashes[0], b.BlockHashes[0]);
        // Without ranges (a causal prompt) the first block is shared; with equal ranges and tokens everything is.
        var c = RangeRequest("c", p1);
        var d = RangeRequest("d", p2);
        BlockHasher.UpdateBlockHashes(c, 4);
        BlockHasher.UpdateBlockHashes(d, 4);
        Assert.Equal(c.BlockHashes[0], d.BlockHashes[0]);
        var a2 = RangeRequest("a2", p1, (0, 9));
        BlockHasher.UpdateBlockHashes(a2, 4);
        Assert.Equal(a.BlockHashes, a2.BlockHashes);
    }
}
