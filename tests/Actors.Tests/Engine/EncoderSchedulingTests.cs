using Pipeline.Actors.Engine;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// The scheduler's encoder budget and encoder cache (vLLM's encoder budget and EncoderCacheManager): images are
/// scheduled for encoding once, within max_num_encoder_input_tokens per step and encoder_cache_size rows, a chunk stops
/// before an image that does not fit, and cached outputs are shared by chunks and by requests with the same image.
/// </summary>
public class EncoderSchedulingTests
{
    static readonly ProcessedImage Pixels = new([0f], [1], 1, 1);

    static Request ImageRequest(string id, int promptLen, params (string Hash, int Offset, int Length)[] images) =>
        new(id, Enumerable.Range(100, promptLen).ToArray(), new SamplingParams { MaxTokens = 2, IgnoreEos = true }, [0], 0, 0, null, null,
            images.Select(i => new MultiModalFeature(i.Hash, i.Offset, i.Length, Pixels)).ToList());

    static Scheduler NewScheduler(int batched, int? encoderBudget = null, int? cacheSize = null) => new(new SchedulerConfig
    {
        MaxNumBatchedTokens = batched, MaxModelLen = 256, NumGpuBlocks = 64, BlockSize = 16, MaxNumSeqs = 8,
        MaxNumEncoderInputTokens = encoderBudget, EncoderCacheSize = cacheSize, EnablePrefixCaching = false,
    });

    /// <summary>Images the step encodes, as (request, hash).</summary>
    static List<(string Req, string Hash)> Encoded(Scheduler s, SchedulerOutput so) =>
        so.ScheduledEncoderInputs.SelectMany(kv => kv.Value.Select(i =>
            (kv.Key, s.GetRequest(kv.Key)!.MultiModalFeatures.Where(f => f.Image != null).ElementAt(i).Hash))).ToList();

    [Fact]
    public void A_chunk_stops_before_an_image_over_the_encoder_budget_and_evicts_the_oldest_unused_output()
    {
        var s = NewScheduler(batched: 64, encoderBudget: 10, cacheSize: 20);
        s.AddRequest(ImageRequest("a", 40, ("img0", 2, 8), ("img1", 12, 8), ("img2", 22, 8)));

        var so = s.Schedule();
        Assert.Equal(12, so.NumScheduledTokens["a"]);                 // img1 would take the budget to 16 rows > 10
        Assert.Equal([("a", "img0")], Encoded(s, so));
        s.UpdateFromOutput(so, Sampled(s, so));

        so = s.Schedule();
        Assert.Equal(10, so.NumScheduledTokens["a"]);                 // img1 encoded, img2 cut off again
        Assert.Equal([("a", "img1")], Encoded(s, so));
        Assert.Empty(so.FreeEncoderMmHashes);
        s.UpdateFromOutput(so, Sampled(s, so));

        so = s.Schedule();                                            // 20-row cache holds img0 and img1, both consumed
        Assert.Equal(18, so.NumScheduledTokens["a"]);
        Assert.Equal([("a", "img2")], Encoded(s, so));
        Assert.Equal(["img0"], so.FreeEncoderMmHashes);               // the oldest unreferenced entry goes
        Assert.True(s.EncoderCacheManager.IsCached("img1"));
        s.UpdateFromOutput(so, Sampled(s, so));
    }

    [Fact]
    public void An_image_is_encoded_once_across_chunks_and_requests_with_the_same_hash()
    {
        var s = NewScheduler(batched: 6);
        s.AddRequest(ImageRequest("a", 20, ("cat", 4, 8)));
        s.AddRequest(ImageRequest("b", 20, ("cat", 4, 8)));
        var encoded = new List<(string, string)>();
        int steps = 0;
        while (s.HasUnfinishedRequests && steps++ < 50)
        {
            var so = s.Schedule();
            encoded.AddRange(Encoded(s, so));
            Assert.True(so.NumScheduledTokens.Values.Sum() <= 6);
            s.UpdateFromOutput(so, Sampled(s, so));
            if (steps == 3) s.AddRequest(ImageRequest("c", 20, ("cat", 4, 8), ("dog", 12, 8)));
        }
        Assert.False(s.HasUnfinishedRequests);
        Assert.Equal([("a", "cat"), ("c", "dog")], encoded);
        // Nothing references the outputs any more; they stay cached for later requests until their room is needed.
        Assert.Equal(s.Config.EncoderCacheTokens, s.EncoderCacheManager.NumFreeableSlots);
        Assert.Equal(s.Config.EncoderCacheTokens - 16, s.EncoderCacheManager.NumFreeSlots);
    }

    [Fact]
    public void Two_requests_with_a_new_image_in_one_step_encode_it_once()
    {
        var s = NewScheduler(batched: 64);
        s.AddRequest(ImageRequest("a", 20, ("cat", 4, 8)));
        s.AddRequest(ImageRequest("b", 20, ("cat", 2, 8)));
        var so = s.Schedule();
        Assert.Equal(2, so.NumScheduledTokens.Count);
        Assert.Equal([("a", "cat")], Encoded(s, so));
    }

    [Fact]
    public void The_encoder_budget_holds_across_the_requests_of_a_step()
    {
        var s = NewScheduler(batched: 64, encoderBudget: 12, cacheSize: 64);
        for (int i = 0; i < 4; i++) s.AddRequest(ImageRequest($"r{i}", 12, ($"img{i}", 2, 8)));
        int steps = 0;
        var encodedAll = new List<string>();
        while (s.HasUnfinishedRequests && steps++ < 50)
        {
            var so = s.Schedule();
            var encoded = Encoded(s, so);
            Assert.True(encoded.Count * 8 <= 12, $"step {steps} encodes {encoded.Count * 8} rows");
            encodedAll.AddRange(encoded.Select(e => e.Hash));
            // A request whose image is not encoded this step runs only the text before it.
            foreach (var (id, n) in so.NumScheduledTokens)
            {
                var r = s.GetRequest(id)!;
                if (r.NumComputedTokens < 2 && !encoded.Any(e => e.Req == id)) Assert.True(r.NumComputedTokens + n <= 2);
            }
            s.UpdateFromOutput(so, Sampled(s, so));
        }
        Assert.Equal(["img0", "img1", "img2", "img3"], encodedAll.Order());
    }

    [Fact]
    public void An_image_larger_than_the_encoder_budget_is_refused_when_added()
    {
        var s = NewScheduler(batched: 64, encoderBudget: 6);
        var e = Assert.Throws<ArgumentException>(() => s.AddRequest(ImageRequest("a", 20, ("big", 2, 8))));
        Assert.Contains("takes 8 tokens", e.Message);
        Assert.Contains("max_num_encoder_input_tokens 6", e.Message);
    }

    [Fact]
    public void Preemption_and_finishing_release_the_requests_references()
    {
        var s = NewScheduler(batched: 64, cacheSize: 8);
        s.AddRequest(ImageRequest("a", 20, ("cat", 4, 8)));
        var so = s.Schedule();
        s.AbortRequests(["a"]);
        s.UpdateFromOutput(so, Sampled(s, so));
        Assert.Equal(8, s.EncoderCacheManager.NumFreeableSlots);
        // A request with another image takes the room: the aborted one's output is evicted.
        s.AddRequest(ImageRequest("b", 20, ("dog", 4, 8)));
        so = s.Schedule();
        Assert.Equal([("b", "dog")], Encoded(s, so));
        Assert.Equal(["cat"], so.FreeEncoderMmHashes);
    }
}
