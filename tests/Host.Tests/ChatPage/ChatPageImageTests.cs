using System.Text.Json;
using System.Text.Json.Nodes;
using PuppeteerSharp;

namespace Pipeline.Host.Tests.ChatPage;

/// <summary>
/// `pipeline serve` on the tiny random LLaVA-1.5 fixture (scripts/fixtures/make_vlm_fixtures.py), a model that reads
/// images, behind --api-key.
/// </summary>
public sealed class VisionChatServer : ServerFixture
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "llava-1.5");
    public override string ModelDir => Dir;
    protected override string[] ServeArgs => ["--api-key", ApiKey, "--dtype", "float32"];
}

/// <summary>
/// Image upload on the chat page, behind --api-key (the page asks for the key and sends it): /v1/models says the LLaVA
/// fixture reads images, the page then offers an image button,
/// and a picked image goes with the message: the server's prompt is as long as transformers' prompt with the image's
/// placeholder tokens (expected.json), where the text alone would be shorter.
/// </summary>
[Collection(ChromiumCollection.Name)]
public class ChatPageImageTests(Chromium chromium, VisionChatServer server) : IClassFixture<VisionChatServer>
{
    [Fact]
    public async Task ModelsListSaysWhichModelsReadImages()
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + "/v1/models");
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        using var r = await server.Http.SendAsync(req);
        var card = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["data"]![0]!;
        Assert.Equal(["text", "image"], card["input_modalities"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    [SkippableFact]
    public async Task AnAttachedImageGoesWithTheMessage()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(VisionChatServer.Dir, "expected.json")));
        var reference = expected.RootElement.GetProperty("prompts")[0];
        Assert.Equal("cat.png", reference.GetProperty("images")[0].GetString());
        var text = reference.GetProperty("messages")[0].GetProperty("content")[1].GetProperty("text").GetString()!;
        int promptTokens = reference.GetProperty("prompt_token_ids").GetArrayLength();

        await using var page = await ChatPageSession.OpenAsync(chromium, server.BaseUrl, ServerFixture.ModelName, apiKey: ServerFixture.ApiKey);
        Assert.Contains("reads text and image", await page.Text("#model-info"));
        Assert.True(await page.Visible("#attach-label"), "the image button shows for a model that reads images");
        var input = (IElementHandle)await page.Page.QuerySelectorAsync("#attach");
        await input.UploadFileAsync(Path.Combine(VisionChatServer.Dir, "images", "cat.png"));
        await page.Until("document.querySelectorAll('#attachments img').length === 1", "the picked image's thumbnail", TimeSpan.FromSeconds(10));

        await page.Set("temperature", "0");
        await page.Set("max_tokens", "16");
        await page.Check("ignore_eos", true);
        await page.Send(text);
        Assert.Equal("length", await page.WaitDone(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(1, await page.Page.EvaluateExpressionAsync<int>("document.querySelectorAll('.message.user .images img').length"));
        Assert.Equal(0, await page.Page.EvaluateExpressionAsync<int>("document.querySelectorAll('#attachments img').length"));
        var meta = await page.Text(".message.assistant .meta");
        Assert.Contains($"prompt {promptTokens} tokens", meta);
        Assert.Contains("answer 16 tokens", meta);
        await page.Screenshot("chat-page-image");
        page.AssertCleanAndSelfContained("status of 401");
    }
}
