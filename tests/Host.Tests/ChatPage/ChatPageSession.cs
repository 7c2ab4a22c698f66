using System.Collections.Concurrent;
using System.Text.Json;
using PuppeteerSharp;

namespace Pipeline.Host.Tests.ChatPage;

/// <summary>
/// One browser tab on a server's chat page, with the steps the tests take (set a setting, send a message, wait for the
/// answer) and waits that fail saying what they waited for and what the page showed. It records the page's console
/// errors and every URL it loaded, so a test can check nothing failed and nothing came from elsewhere.
/// </summary>
public sealed class ChatPageSession : IAsyncDisposable
{
    public IPage Page { get; }
    public string BaseUrl { get; }
    public ConcurrentQueue<string> Errors { get; } = new();
    public ConcurrentQueue<string> Requests { get; } = new();

    ChatPageSession(IPage page, string baseUrl)
    {
        Page = page;
        BaseUrl = baseUrl;
        page.Console += (_, e) => { if (e.Message.Type == ConsoleType.Error) Errors.Enqueue("console: " + e.Message.Text); };
        page.PageError += (_, e) => Errors.Enqueue("page error: " + e.Message);
        page.Request += (_, e) => Requests.Enqueue(e.Request.Url);
    }

    /// <summary>
    /// Opens the page and waits until it lists <paramref name="model"/>. With <paramref name="apiKey"/>, first waits for
    /// the page to ask for one (the server answers 401 without it) and enters it under Settings.
    /// </summary>
    public static async Task<ChatPageSession> OpenAsync(Chromium chromium, string baseUrl, string model, string? apiKey = null)
    {
        Skip.If(chromium.Browser == null, chromium.Unavailable);
        var page = await chromium.Browser!.NewPageAsync();
        page.DefaultTimeout = 15_000;
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 800 });
        var session = new ChatPageSession(page, baseUrl);
        var response = await page.GoToAsync(baseUrl + "/", new NavigationOptions { Timeout = 20_000, WaitUntil = [WaitUntilNavigation.Load] });
        Assert.True(response.Ok, $"GET / answered {response.Status}");
        if (apiKey != null)
        {
            await session.Until("document.getElementById('status').innerText.includes('set the API key in Settings')",
                "the page to ask for the API key", TimeSpan.FromSeconds(15));
            await session.Page.EvaluateFunctionAsync("k => { const el = document.getElementById('api_key'); el.value = k; el.dispatchEvent(new Event('change')); }", apiKey);
        }
        await session.Until($"[...document.querySelectorAll('#model option')].some(o => o.value === {Js(model)})",
            $"the model list to show '{model}'", TimeSpan.FromSeconds(15));
        return session;
    }

    public static string Js(string s) => JsonSerializer.Serialize(s);

    /// <summary>Waits for a JavaScript condition; on timeout fails naming it, with the page's status line and last answer.</summary>
    public async Task Until(string condition, string what, TimeSpan timeout)
    {
        try
        {
            await Page.WaitForFunctionAsync($"() => {condition}", new WaitForFunctionOptions { Timeout = (int)timeout.TotalMilliseconds, PollingInterval = 25 });
        }
        catch (WaitTaskTimeoutException)
        {
            var status = await Text("#status");
            var answer = await LastAnswer();
            Assert.Fail($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}. Page status: '{status}'; last answer: '{Shorten(answer)}'; errors: [{string.Join("; ", Errors)}]");
        }
    }

    /// <summary>Sets a settings field (number or text) as a user types it.</summary>
    public async Task Set(string id, string value)
    {
        await Page.EvaluateFunctionAsync("(id, v) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }", id, value);
    }

    public async Task Check(string id, bool on) =>
        await Page.EvaluateFunctionAsync("(id, on) => { const el = document.getElementById(id); el.checked = on; el.dispatchEvent(new Event('input', { bubbles: true })); }", id, on);

    /// <summary>Types a message and presses Enter, as a user sends one.</summary>
    public async Task Send(string message)
    {
        await Page.FocusAsync("#prompt");
        await Page.Keyboard.TypeAsync(message);
        await Page.Keyboard.PressAsync("Enter");
    }

    public Task<int> AnswerCount() => Page.EvaluateExpressionAsync<int>("document.querySelectorAll('.message.assistant').length");

    /// <summary>The rendered text of the last answer ("" before there is one).</summary>
    public Task<string> LastAnswer() => Page.EvaluateExpressionAsync<string>(
        "(() => { const m = [...document.querySelectorAll('.message.assistant .content')].pop(); return m ? m.innerText : ''; })()");

    public Task<string> LastAnswerHtml() => Page.EvaluateExpressionAsync<string>(
        "(() => { const m = [...document.querySelectorAll('.message.assistant .content')].pop(); return m ? m.innerHTML : ''; })()");

    /// <summary>Waits until answer number <paramref name="n"/> (1-based) is finished; returns its finish reason.</summary>
    public async Task<string> WaitDone(int n, TimeSpan timeout)
    {
        await Until($"document.querySelectorAll('.message.assistant')[{n - 1}]?.dataset.done === 'true'", $"answer {n} to finish", timeout);
        return await Page.EvaluateExpressionAsync<string>($"document.querySelectorAll('.message.assistant')[{n - 1}].dataset.finishReason");
    }

    /// <summary>The text of the first element <paramref name="selector"/> finds, as laid out ("" for one not shown).</summary>
    public Task<string> Text(string selector) => Page.EvaluateFunctionAsync<string>("s => document.querySelector(s)?.innerText ?? ''", selector);

    /// <summary>The text of the first element <paramref name="selector"/> finds, shown or not (folded in a closed details).</summary>
    public Task<string> TextContent(string selector) => Page.EvaluateFunctionAsync<string>("s => document.querySelector(s)?.textContent ?? ''", selector);

    public Task<string> Html(string selector) => Page.EvaluateFunctionAsync<string>("s => document.querySelector(s)?.outerHTML ?? '(none)'", selector);

    public Task<bool> Visible(string selector) => Page.EvaluateFunctionAsync<bool>(
        "s => { const el = document.querySelector(s); return !!el && !el.hidden && el.offsetParent !== null; }", selector);

    /// <summary>Saves a screenshot when PIPELINE_CHAT_SCREENSHOTS names a folder (how docs/images/chat-page-*.png are made).</summary>
    public async Task Screenshot(string name)
    {
        if (Environment.GetEnvironmentVariable("PIPELINE_CHAT_SCREENSHOTS") is not { Length: > 0 } dir) return;
        Directory.CreateDirectory(dir);
        await Page.ScreenshotAsync(Path.Combine(dir, name + ".png"));
    }

    /// <summary>
    /// Checks the page raised no error (but the <paramref name="expected"/> ones, such as chromium's line for a 401 the
    /// test provoked) and loaded nothing from another origin.
    /// </summary>
    public void AssertCleanAndSelfContained(params string[] expected)
    {
        var errors = Errors.Where(e => !expected.Any(e.Contains)).ToList();
        Assert.True(errors.Count == 0, "the page reported errors: " + string.Join("; ", errors));
        Assert.All(Requests, url => Assert.True(url.StartsWith(BaseUrl + "/") || url.StartsWith("data:") || url.StartsWith("blob:"),
            $"the page loaded {url}, which the server does not serve"));
    }

    static string Shorten(string s) => s.Length <= 300 ? s : s[..300] + "…";

    public async ValueTask DisposeAsync() => await Page.CloseAsync();
}
