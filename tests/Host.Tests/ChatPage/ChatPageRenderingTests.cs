using Pipeline.Host.Tests.ToolCalling;

namespace Pipeline.Host.Tests.ChatPage;

/// <summary>
/// How the chat page shows an answer, over a model scripted to write it (<see cref="ScriptedChatServer"/>, with the
/// qwen3 reasoning parser): markdown rendered by markdown-it, code highlighted by highlight.js, thinking apart, and
/// HTML in the model's output shown as text, never run. Errors from the server are shown naming the field.
/// </summary>
[Collection(ChromiumCollection.Name)]
public class ChatPageRenderingTests(Chromium chromium, ScriptedChatServer server) : IClassFixture<ScriptedChatServer>
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    const string Answer = """
        <think>The user wants an example.</think>
        # Adding numbers

        Use **bold** words, `inline code`, a [link](https://example.com/docs) and a [bad link](javascript:window.pwned=3).

        <script>window.pwned = 1</script>
        <img src="x" onerror="window.pwned = 2">

        | a | b |
        |---|---|
        | 1 | 2 |

        ```python
        def add(a, b):
            return a + b
        ```
        """;

    [SkippableFact]
    public async Task MarkdownAndCodeAreRenderedAndHtmlInTheAnswerIsShownAsText()
    {
        await using var page = await ChatPageSession.OpenAsync(chromium, server.BaseUrl, ScriptedChatServer.ModelName);
        server.Answer(Answer);
        await page.Set("max_tokens", "200");
        await page.Send("Show me how to add two numbers in Python.");
        Assert.Equal("stop", await page.WaitDone(1, Wait));

        var q = page.Page;
        Assert.Equal("Adding numbers", await q.EvaluateExpressionAsync<string>("document.querySelector('.content h1')?.innerText"));
        Assert.Equal("bold", await q.EvaluateExpressionAsync<string>("document.querySelector('.content strong')?.innerText"));
        Assert.Equal("inline code", await q.EvaluateExpressionAsync<string>("document.querySelector('.content p code')?.innerText"));
        Assert.Equal(4, await q.EvaluateExpressionAsync<int>("document.querySelectorAll('.content table th, .content table td').length"));
        // Code: in a block labelled with its language, highlighted, its text unchanged.
        Assert.Equal("python", await q.EvaluateExpressionAsync<string>("document.querySelector('.content .code .code-head span')?.innerText"));
        Assert.Equal("def add(a, b):\n    return a + b\n", await q.EvaluateExpressionAsync<string>("document.querySelector('.content .code pre code')?.textContent"));
        Assert.Equal("def", await q.EvaluateExpressionAsync<string>("document.querySelector('.content .code .hljs-keyword')?.textContent"));
        // Links open elsewhere; a javascript: link is not made a link.
        Assert.Equal("https://example.com/docs", await q.EvaluateExpressionAsync<string>("document.querySelector('.content a')?.getAttribute('href')"));
        Assert.Equal("noopener noreferrer", await q.EvaluateExpressionAsync<string>("document.querySelector('.content a')?.getAttribute('rel')"));
        Assert.Equal(1, await q.EvaluateExpressionAsync<int>("document.querySelectorAll('.content a').length"));
        // HTML the model wrote is text on the page: no element made, nothing run, nothing lost.
        Assert.Equal(0, await q.EvaluateExpressionAsync<int>("document.querySelectorAll('.content script, .content img').length"));
        Assert.False(await q.EvaluateExpressionAsync<bool>("'pwned' in window"), "the model's HTML ran in the page");
        var text = await page.LastAnswer();
        Assert.Contains("<script>window.pwned = 1</script>", text);
        Assert.Contains("<img src=\"x\" onerror=\"window.pwned = 2\">", text);
        // The thinking (reasoning_content) is apart from the answer, folded.
        Assert.True(await page.Visible(".message.assistant details.reasoning"), "the thinking shows");
        Assert.Equal("The user wants an example.", (await page.TextContent(".message.assistant .reasoning-text")).Trim());
        Assert.DoesNotContain("The user wants", text);
        await page.Screenshot("chat-page-markdown");
        page.AssertCleanAndSelfContained();
    }

    [SkippableFact]
    public async Task ABadSettingShowsTheServersErrorNamingTheField()
    {
        await using var page = await ChatPageSession.OpenAsync(chromium, server.BaseUrl, ScriptedChatServer.ModelName);
        server.Answer("unused");
        await page.Set("top_p", "5");
        await page.Send("Hello");
        await page.WaitDone(1, Wait);
        Assert.True(await IsTrue(page, "document.querySelector('.message.assistant').classList.contains('error')"), "the answer is marked as an error");
        var error = await page.TextContent(".message.assistant .error-text");
        Assert.True(error.StartsWith("400: ") && error.Contains("top_p"), "the error shown: " + await page.Html(".message.assistant"));
        Assert.Contains("failed", await page.Text("#status"));
        // Fixed, the same message goes through.
        await page.Set("top_p", "");
        server.Answer("Fine.");
        await page.Send("Hello");
        Assert.Equal("stop", await page.WaitDone(2, Wait));
        Assert.Equal("Fine.", (await page.LastAnswer()).Trim());
    }

    static Task<bool> IsTrue(ChatPageSession page, string js) => page.Page.EvaluateExpressionAsync<bool>(js);
}
