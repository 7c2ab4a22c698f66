using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Multimodal;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tests.Fixtures;
using SkiaSharp;

namespace Pipeline.Streams.Tests;

/// <summary>
/// The preprocessing stage in the running pipeline, over the tiny LLaVA-1.5 fixture made by transformers (image token
/// 3, a 28-pixel CLIP tower with 14-pixel patches: 4 placeholder tokens per image). This checks the stage (placeholder
/// expansion, refusals, non-blocking fetches); LlavaFixtureTests check what the model makes of the image.
/// </summary>
public sealed class MultimodalPipelineTests : IDisposable
{
    const int ImageToken = 3;
    readonly string _dir = Directory.CreateTempSubdirectory("llava-").FullName;

    public MultimodalPipelineTests()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "llava-1.5");
        foreach (var f in Directory.GetFiles(fixture)) File.Copy(f, Path.Combine(_dir, Path.GetFileName(f)));
    }

    public void Dispose() => Directory.Delete(_dir, true);

    static byte[] Png(byte seed)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(10, 8, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(new SKColor(seed, 100, 200));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static readonly SamplingParams Greedy = new() { Temperature = 0, MaxTokens = 3, IgnoreEos = true };

    [Fact]
    public async Task Images_expand_their_placeholders_and_bad_ones_fail_only_their_request()
    {
        await using var h = new PipelineHarness(_dir);
        var url = "data:image/png;base64," + Convert.ToBase64String(Png(1));
        var good = h.Engine.GenerateFinalAsync(new PromptInput(null, [1, ImageToken, 20, ImageToken, 30], [ImageInput.FromUrl(url), ImageInput.FromBytes(Png(2))]), Greedy);
        var bad = h.Engine.GenerateFinalAsync(new PromptInput(null, [1, ImageToken], [ImageInput.FromUrl("data:image/png;base64,#not-base64#")]), Greedy);
        var mismatch = h.Engine.GenerateFinalAsync(new PromptInput(null, [1, ImageToken, ImageToken], [ImageInput.FromUrl(url)]), Greedy);
        var text = h.Engine.GenerateFinalAsync(PromptInput.FromIds([1, 20, 30]), Greedy);
        var r = await good.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal([1, 3, 3, 3, 3, 20, 3, 3, 3, 3, 30], r.PromptTokenIds);
        Assert.Equal(3, r.Outputs[0].TokenIds.Count);
        Assert.Contains("not valid base64", (await Assert.ThrowsAnyAsync<ArgumentException>(() => bad)).Message);
        Assert.Contains("2 image placeholder token(s)", (await Assert.ThrowsAnyAsync<ArgumentException>(() => mismatch)).Message);
        Assert.Equal(3, (await text).Outputs[0].TokenIds.Count);
        var noImage = h.Engine.GenerateFinalAsync(PromptInput.FromIds([1, ImageToken]), Greedy);
        Assert.Contains("no image was given", (await Assert.ThrowsAnyAsync<ArgumentException>(() => noImage)).Message);
    }

    [Fact]
    public async Task A_url_that_does_not_answer_times_out_without_holding_up_other_requests()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var held = new List<TcpClient>();
        _ = Task.Run(async () => { try { while (true) held.Add(await listener.AcceptTcpClientAsync()); } catch (Exception) { } });
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var media = new MediaOptions { AllowedMediaDomains = ["127.0.0.1"], FetchTimeout = TimeSpan.FromSeconds(3) };
        await using var h = new PipelineHarness(_dir, options: new PipelineOptions { Media = media });
        var slow = h.Engine.GenerateFinalAsync(new PromptInput(null, [1, ImageToken], [ImageInput.FromUrl($"http://127.0.0.1:{port}/never.png")]), Greedy);
        var started = DateTime.UtcNow;
        var fast = await h.Engine.GenerateFinalAsync(new PromptInput(null, [1, ImageToken, 5], [ImageInput.FromBytes(Png(3))]), Greedy).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2.5), "the second request waited for the first one's URL");
        Assert.False(slow.IsCompleted);
        Assert.Contains("timed out after 3 s", (await Assert.ThrowsAnyAsync<ArgumentException>(() => slow)).Message);
        Assert.Equal(3, fast.Outputs[0].TokenIds.Count);
        foreach (var c in held) c.Dispose();
    }
}
