using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The encoder cache in the running engine over the tiny LLaVA-1.5 fixture: the vision encoder runs once per distinct
/// image, however many prefill chunks cut through its placeholders and however many requests (now or later) send it, and
/// the outputs stay those of transformers.
/// </summary>
public class EncoderCacheEngineTests
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "llava-1.5");

    static ImageInput Image(string name) => ImageInput.FromFile(Path.Combine(Dir, "images", name));

    [Fact]
    public void The_encoder_runs_once_per_image_across_chunks_and_requests()
    {
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        var expected = doc.RootElement.GetProperty("prompts").EnumerateArray().ToList();
        string oneImage = expected[0].GetProperty("text").GetString()!, twoImages = expected[1].GetProperty("text").GetString()!;
        var want = expected[0].GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToList();
        using var llm = new LLM(new EngineArgs
        {
            Model = Dir, Dtype = "float32", Device = "cpu", MaxModelLen = 128, AllowLongMaxModelLen = true,
            MaxNumBatchedTokens = 3, MaxNumSeqs = 8, NumGpuBlocksOverride = 64,   // 4-token images cut across chunks
        });
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 16, IgnoreEos = true };
        var first = llm.Generate([new PromptInput(oneImage, null, [Image("cat.png")]), new PromptInput(oneImage, null, [Image("cat.png")])], sp);
        Assert.Equal(1, llm.Runner.EncoderCache.NumEncoderRuns);
        Assert.All(first, o => Assert.Equal(want, o.Outputs[0].TokenIds));

        // Later requests: the cat's output is still cached; only the new image is encoded.
        var second = llm.Generate([new PromptInput(twoImages, null, [Image("cat.png"), Image("tall.png")]), new PromptInput(oneImage, null, [Image("cat.png")])], sp);
        Assert.Equal(2, llm.Runner.EncoderCache.NumEncoderRuns);
        Assert.Equal(expected[1].GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()), second[0].Outputs[0].TokenIds);
        Assert.Equal(want, second[1].Outputs[0].TokenIds);
        Assert.Equal(2, llm.Runner.EncoderCache.Count);
    }

    [Fact]
    public void A_cache_of_one_image_evicts_and_encodes_again()
    {
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        string text = doc.RootElement.GetProperty("prompts")[0].GetProperty("text").GetString()!;
        using var llm = new LLM(new EngineArgs
        {
            Model = Dir, Dtype = "float32", Device = "cpu", MaxModelLen = 128, AllowLongMaxModelLen = true,
            MaxNumBatchedTokens = 64, MaxNumSeqs = 8, NumGpuBlocksOverride = 64, EncoderCacheSize = 4, MaxNumEncoderInputTokens = 4,
        });
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 2, IgnoreEos = true };
        foreach (var name in new[] { "cat.png", "tall.png", "cat.png" }) llm.Generate([new PromptInput(text, null, [Image(name)])], sp);
        Assert.Equal(3, llm.Runner.EncoderCache.NumEncoderRuns);
        Assert.Equal(1, llm.Runner.EncoderCache.Count);   // the runner dropped what the scheduler evicted
        // Two images in one prompt with room for one: the cached cat is used, then evicted for the tall image.
        llm.Generate([new PromptInput(doc.RootElement.GetProperty("prompts")[1].GetProperty("text").GetString(), null, [Image("cat.png"), Image("tall.png")])], sp);
        Assert.Equal(4, llm.Runner.EncoderCache.NumEncoderRuns);
    }
}
