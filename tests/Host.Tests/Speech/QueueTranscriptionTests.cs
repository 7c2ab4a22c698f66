using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Pipeline.Host.Http;
using Pipeline.Host.Queue;
using Pipeline.Host.Tests.Queue;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Tests.Speech;

/// <summary>The queue service over the in-process transport with the tiny random Whisper (scripts/fixtures/make_whisper_fixtures.py).</summary>
public sealed class WhisperQueue : IAsyncLifetime
{
    public InProcessQueueHarness? Harness { get; private set; }
    public EventLog Log { get; } = new();
    readonly CancellationTokenSource _cts = new();

    public async Task InitializeAsync()
    {
        if (!WhisperServer.Available) return;
        Harness = new InProcessQueueHarness(model: WhisperServer.Dir);
        _ = Log.Pump(await Harness.Transport.SubscribeAsync("#", _cts.Token), _cts.Token);
    }

    public async Task DisposeAsync()
    {
        _cts.Cancel();
        if (Harness != null) await Harness.DisposeAsync();
    }
}

/// <summary>
/// Audio messages on the queue (docs/queue.md): the final's tokens are transformers' greedy generate on the same clip
/// (the fixture's expected.json), its text their decode, and its `response` the transcription endpoint's answer to the
/// same fields, byte for byte; the deltas number from 0 and add up to the final; bad audio and fields are 400 error
/// events naming the field.
/// </summary>
public class QueueTranscriptionTests(WhisperQueue queue) : IClassFixture<WhisperQueue>
{
    static readonly string Clips = Path.Combine(AppContext.BaseDirectory, "fixtures", "audio");
    const int MaxTokens = 24; // the fixture's max_new_tokens

    static int[] ExpectedTokens(string clip, string? language, string task, bool timestamps) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(WhisperServer.Dir, "expected.json")))!["cases"]!.AsArray()
            .First(c => c!["clip"]!.GetValue<string>() == clip && c["language"]?.GetValue<string>() == language
                        && c["task"]!.GetValue<string>() == task && c["timestamps"]!.GetValue<bool>() == timestamps)!
            ["token_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();

    /// <summary>The transcription endpoint's answer to a multipart form, run in this process on the same server context.</summary>
    static async Task<(int Status, string Body)> HttpAnswer(ServerContext server, byte[] audio, string task, params (string Key, string Value)[] fields)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(audio), "file", "clip" } };
        foreach (var (k, v) in fields) form.Add(new StringContent(v), k);
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.ContentType = form.Headers.ContentType!.ToString();
        http.Request.Body = new MemoryStream(await form.ReadAsByteArrayAsync());
        var body = new MemoryStream();
        http.Response.Body = body;
        await TranscriptionsEndpoint.Handle(http, server, task);
        return (http.Response.StatusCode, Encoding.UTF8.GetString(body.ToArray()));
    }

    async Task<List<QueueEvent>> Run(string id, object message)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(message);
        await queue.Harness!.Transport.PublishRequestAsync(body, QueueProperties.Default, default);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!queue.Log.Of(id).Any(e => e.IsTerminal))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no final or error event for {id}");
            await Task.Delay(20);
        }
        return queue.Log.Of(id);
    }

    [Theory]
    [InlineData("en_16k_s16.wav", "en", "transcribe", "json", false)]
    [InlineData("de_16k_s16.flac", "de", "transcribe", "verbose_json", true)]
    [InlineData("en_8k_s16.wav", null, "translate", "srt", true)]
    public async Task Audio_message_answers_what_the_endpoint_answers(string clip, string? language, string task, string format, bool dataUrl)
    {
        if (!WhisperServer.Available) return;
        var audio = await File.ReadAllBytesAsync(Path.Combine(Clips, clip));
        var b64 = Convert.ToBase64String(audio);
        var id = $"audio-{Path.GetFileNameWithoutExtension(clip)}-{format}";
        var events = await Run(id, new
        {
            request_id = id, file = dataUrl ? "data:audio/x-clip;base64," + b64 : b64, language, task, response_format = format,
            max_completion_tokens = MaxTokens, temperature = 0,
        });
        var final = EventLog.CheckStream(events);
        Assert.True(events.Count > 1, "the final should follow at least one delta");
        bool timestamps = format != "json";
        var want = ExpectedTokens(clip, language, task, timestamps);
        var choice = final.Json.GetProperty("choices")[0];
        Assert.Equal(want, choice.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()));
        var usage = final.Json.GetProperty("usage");
        Assert.Equal(want.Length, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(task, final.Json.GetProperty("task").GetString());

        var fields = new List<(string, string)> { ("response_format", format), ("max_completion_tokens", $"{MaxTokens}"), ("temperature", "0") };
        if (language != null) fields.Add(("language", language));
        var (status, http) = await HttpAnswer(queue.Harness!.Server, audio, task, fields.ToArray());
        Assert.Equal(200, status);
        var response = final.Json.GetProperty("response");
        if (format.EndsWith("json"))
        {
            Assert.Equal(http, response.GetRawText());
            Assert.Equal(JsonNode.Parse(http)!["text"]!.GetValue<string>(), choice.GetProperty("text").GetString());
        }
        else Assert.Equal(http, response.GetString());
    }

    [Theory]
    [InlineData("garbage", "file", "not a known audio format")]
    [InlineData("m4a", "file", "unsupported audio format MP4/M4A")]
    [InlineData("base64", "file", "not valid base64")]
    [InlineData("language", "language", "unknown language 'xx'")]
    [InlineData("format", "response_format", "response_format must be one of json, text, verbose_json, srt, vtt, not 'docx'")]
    [InlineData("task", "task", "task must be transcribe or translate, not 'summarize'")]
    [InlineData("both", "prompt", "give exactly one of prompt, messages and file")]
    public async Task Bad_audio_messages_get_a_400_error_event_naming_the_field(string kind, string field, string message)
    {
        if (!WhisperServer.Available) return;
        var wav = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(Clips, "en_16k_s16.wav")));
        var id = "bad-audio-" + kind;
        object body = kind switch
        {
            "garbage" => new { request_id = id, file = Convert.ToBase64String(Encoding.ASCII.GetBytes("this is not audio at all")) },
            "m4a" => new { request_id = id, file = Convert.ToBase64String([0, 0, 0, 32, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'M', (byte)'4', (byte)'A', 32, 0, 0, 0, 0]) },
            "base64" => new { request_id = id, file = "data:audio/wav;base64,UklGR*not-base64*" },
            "language" => new { request_id = id, file = wav, language = "xx" },
            "format" => new { request_id = id, file = wav, response_format = "docx" },
            "task" => (object)new { request_id = id, file = wav, task = "summarize" },
            _ => new { request_id = id, file = wav, prompt = "hello" },
        };
        long dead = queue.Harness!.Service.DeadLettered;
        var error = Assert.Single(await Run(id, body));
        Assert.Equal(QueueEvents.Error, error.Type);
        var e = error.Json.GetProperty("error");
        Assert.Equal(400, e.GetProperty("code").GetInt32());
        Assert.Contains(message, e.GetProperty("message").GetString());
        Assert.EndsWith($"(field {field})", e.GetProperty("message").GetString());
        // the error event goes out before the message is dead-lettered
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (queue.Harness.Service.DeadLettered <= dead && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(queue.Harness.Service.DeadLettered > dead);
    }
}
