using System.ClientModel;
using System.Globalization;
using System.Text.RegularExpressions;
using OpenAI;
using OpenAI.Chat;
using Pipeline.Host.Commands;

namespace Pipeline.Host.Tests.ChatPage;

/// <summary>`pipeline serve` on the built-in model, float32, as the README starts it: the chat page's server.</summary>
public sealed class ChatPageServer : ServerFixture
{
    protected override IEnumerable<string> CommandArgs => ["serve", "--port", Port.ToString(), "--dtype", "float32"];
}

/// <summary>
/// The chat page at / in headless chromium (issue 21, point 5): it lists the served model, streams an answer as it is
/// generated, sends the sampling settings (its greedy answer is the OpenAI .NET client's), and its stop button aborts
/// the request on the server (the engine stops generating, and /metrics counts one request finished by "abort").
/// </summary>
[Collection(ChromiumCollection.Name)]
public class ChatPageStreamingTests(Chromium chromium, ChatPageServer server) : IClassFixture<ChatPageServer>
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    const string Model = DefaultModel.Name;

    [SkippableFact]
    public async Task StreamsAnAnswerAndStopAbortsTheRequestOnTheServer()
    {
        await using var page = await ChatPageSession.OpenAsync(chromium, server.BaseUrl, Model);
        Assert.Contains("1024 tokens of context", await page.Text("#model-info"));
        Assert.False(await page.Visible("#attach-label"), "a text-only model shows no image button");
        await page.Screenshot("chat-page-empty");

        // Long enough that it is still generating when the stop button is pressed: up to the context's end, no EOS.
        await page.Set("max_tokens", "1000");
        await page.Check("ignore_eos", true);
        await page.Set("temperature", "0");
        await page.Send("Tell me about the whale.");

        await page.Until("document.querySelector('.message.assistant .content')?.innerText.trim().length > 0", "the first streamed tokens", Wait);
        var first = await page.LastAnswer();
        await page.Until($"document.querySelector('.message.assistant .content').innerText.length > {first.Length} && !document.querySelector('.message.assistant').dataset.done",
            "more tokens to stream in while the answer is still running", Wait);
        Assert.True(await page.Visible("#stop"), "the stop button shows while an answer streams");
        Assert.False(await page.Visible("#send"), "the send button hides while an answer streams");
        Assert.Equal(1, await Metric("vllm:num_requests_running"));
        await page.Screenshot("chat-page-streaming");

        await page.Page.ClickAsync("#stop");
        Assert.Equal("abort", await page.WaitDone(1, Wait));
        var stopped = await page.LastAnswer();
        Assert.StartsWith(first.TrimEnd(), stopped);
        Assert.Contains("stopped", await page.Text(".message.assistant .meta"));

        // The server aborted the request: it counts one request finished by abort, runs none, and generated far fewer
        // tokens than were asked for.
        await Eventually(async () => await Metric("vllm:request_success_total", "abort") == 1, "/metrics to count the aborted request");
        Assert.Equal(0, await Metric("vllm:num_requests_running"));
        double generated = await Metric("vllm:generation_tokens_total");
        await Task.Delay(300);
        Assert.Equal(generated, await Metric("vllm:generation_tokens_total"));
        Assert.InRange(generated, 2, 999);
        await server.WaitForOutput("finish_reason abort", TimeSpan.FromSeconds(5));
        Assert.True(await page.Visible("#send"), "the send button is back after stopping");
        page.AssertCleanAndSelfContained();
    }

    [SkippableFact]
    public async Task GreedyAnswerIsTheOpenAiClientsAnswerAndTheConversationGoesOn()
    {
        const string question = "What should the Congress do about the public debt?";
        var client = new ChatClient(Model, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") });
        ChatCompletion reference = await client.CompleteChatAsync([new UserChatMessage(question)],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 48 });
        var want = reference.Content[0].Text;

        await using var page = await ChatPageSession.OpenAsync(chromium, server.BaseUrl, Model);
        await page.Set("temperature", "0");
        await page.Set("max_tokens", "48");
        await page.Send(question);
        var reason = await page.WaitDone(1, Wait);
        Assert.Equal(Normalize(want), Normalize(await page.LastAnswer()));
        Assert.Equal(reference.FinishReason == ChatFinishReason.Length ? "length" : "stop", reason);
        var meta = await page.Text(".message.assistant .meta");
        Assert.Contains($"prompt {reference.Usage.InputTokenCount} tokens", meta);
        Assert.Contains($"answer {reference.Usage.OutputTokenCount} tokens", meta);

        // The second turn carries the first: its answer is the client's answer to the same three messages.
        const string next = "And the Army?";
        ChatCompletion second = await client.CompleteChatAsync([new UserChatMessage(question), new AssistantChatMessage(want), new UserChatMessage(next)],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 48 });
        await page.Send(next);
        await page.WaitDone(2, Wait);
        Assert.Equal(Normalize(second.Content[0].Text), Normalize(await page.LastAnswer()));
        await page.Screenshot("chat-page-conversation");
        page.AssertCleanAndSelfContained();
    }

    /// <summary>Text as a browser lays it out: runs of white space are one space.</summary>
    static string Normalize(string s) => Regex.Replace(s, @"\s+", " ").Trim();

    async Task<double> Metric(string name, string? finishedReason = null)
    {
        var text = await server.Http.GetStringAsync(server.BaseUrl + "/metrics");
        var labels = $"model_name=\"{Model}\"" + (finishedReason == null ? "" : $",finished_reason=\"{finishedReason}\"");
        var m = Regex.Match(text, "^" + Regex.Escape(name + "{" + labels + "}") + @" (\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after 10 s waiting for {what}");
            await Task.Delay(50);
        }
    }
}
