using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Host.Queue;
using SkiaSharp;

namespace Pipeline.Host.Tests;

/// <summary>
/// `pipeline serve` over the tiny LLaVA-1.5 fixture with tight media limits (loopback URLs allowed, 2-second fetch
/// timeout, 12,000 bytes, 250,000 pixels, two images per prompt), and a loopback HTTP server that serves an image,
/// answers 404, or never answers.
/// </summary>
public sealed class ImageLimitsServer : ServerFixture
{
    public const int MaxBytes = 12_000, MaxPixels = 250_000;
    readonly TcpListener _media = new(IPAddress.Loopback, 0);
    readonly List<TcpClient> _held = new();
    public int MediaPort { get; }

    public ImageLimitsServer()
    {
        _media.Start();
        MediaPort = ((IPEndPoint)_media.LocalEndpoint).Port;
        _ = Task.Run(ServeMedia);
    }

    public override string ModelDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "llava-1.5");
    protected override string[] ServeArgs =>
    [
        "--dtype", "float32", "--max-model-len", "128", "--allowed-media-domains", "127.0.0.1", "--media-fetch-timeout", "2",
        "--max-image-bytes", MaxBytes.ToString(), "--max-image-pixels", MaxPixels.ToString(), "--limit-mm-per-prompt", "image=2",
    ];

    public byte[] Cat => File.ReadAllBytes(Path.Combine(ModelDir, "images", "cat.png"));

    /// <summary>/cat.png: the fixture's image; /never.png: accepted, never answered; anything else: 404.</summary>
    async Task ServeMedia()
    {
        try
        {
            while (true)
            {
                var client = await _media.AcceptTcpClientAsync();
                _ = Task.Run(async () =>
                {
                    var stream = client.GetStream();
                    var buffer = new byte[4096];
                    int n = await stream.ReadAsync(buffer);
                    var line = Encoding.ASCII.GetString(buffer, 0, n).Split('\n')[0];
                    if (line.Contains("/never.png")) { lock (_held) _held.Add(client); return; }
                    var body = line.Contains("/cat.png") ? Cat : Encoding.ASCII.GetBytes("not here");
                    var head = line.Contains("/cat.png") ? "HTTP/1.1 200 OK\r\nContent-Type: image/png" : "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"{head}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
                    await stream.WriteAsync(body);
                    client.Dispose();
                });
            }
        }
        catch (Exception) { } // stopped
    }

    public override async Task DisposeAsync()
    {
        _media.Stop();
        lock (_held) foreach (var c in _held) c.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>
/// Every kind of bad image input, through /v1/chat/completions and through the queue (POST /v1/queue/requests, followed
/// on /v1/streams/{id}): each is refused with a 400 (an error event on the queue) whose message names the problem,
/// while a good image request sent at the same time is answered with transformers' tokens.
/// </summary>
public class ImageBadInputTests(ImageLimitsServer server) : IClassFixture<ImageLimitsServer>
{
    static string DataUrl(byte[] bytes, string type = "image/png") => $"data:{type};base64," + Convert.ToBase64String(bytes);

    static byte[] Encode(int w, int h, bool noise, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rng = new Random(7);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bitmap.SetPixel(x, y, noise ? new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)) : new SKColor(40, 90, 200));
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    /// <summary>An ICO file holding one PNG image (a format Skia reads but transformers' processors are not given).</summary>
    static byte[] Ico(byte[] png)
    {
        var ico = new List<byte> { 0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0 };
        ico.AddRange(BitConverter.GetBytes(png.Length));
        ico.AddRange(BitConverter.GetBytes(22));
        ico.AddRange(png);
        return ico.ToArray();
    }

    public static IEnumerable<object[]> Cases() =>
    [
        ["undecodable", "not a known image format"],
        ["truncated", "truncated"],
        ["unsupported format", "unsupported image format ICO"],
        ["too many bytes", "image is too large"],
        ["too many pixels", $"600x600 = 360000 pixels, more than the limit of {ImageLimitsServer.MaxPixels}"],
        ["too many images", "too many images: 3 in one prompt, the limit is 2"],
        ["url not allowed", "domain 'localhost' is not allowed"],
        ["url not answering", "timed out after 2 s"],
        ["url answering 404", "answered 404"],
        ["placeholder mismatch", "2 image placeholder token(s)"],
    ];

    /// <summary>The user message's content parts for a case (images first, then the question).</summary>
    JsonArray Content(string kind)
    {
        string cat = DataUrl(server.Cat);
        string[] urls = kind switch
        {
            "undecodable" => [DataUrl(Encoding.UTF8.GetBytes("these bytes are no picture at all, just text"))],
            "truncated" => [DataUrl(server.Cat[..(server.Cat.Length / 2)])],
            "unsupported format" => [DataUrl(Ico(Encode(16, 16, false)), "image/x-icon")],
            "too many bytes" => [DataUrl(Encode(80, 80, true))],
            "too many pixels" => [DataUrl(Encode(600, 600, false))],
            "too many images" => [cat, cat, cat],
            "url not allowed" => [$"http://localhost:{server.MediaPort}/cat.png"],
            "url not answering" => [$"http://127.0.0.1:{server.MediaPort}/never.png"],
            "url answering 404" => [$"http://127.0.0.1:{server.MediaPort}/missing.png"],
            "placeholder mismatch" => [cat],
            "good" => [cat],
            "good url" => [$"http://127.0.0.1:{server.MediaPort}/cat.png"],
            _ => throw new ArgumentException(kind),
        };
        var content = new JsonArray();
        foreach (var u in urls) content.Add(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = u } });
        content.Add(new JsonObject { ["type"] = "text", ["text"] = kind == "placeholder mismatch" ? "what is in this <image> ?" : "what is in this image ?" });
        return content;
    }

    JsonObject Body(string kind, string? requestId = null)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Content(kind) }),
            ["max_tokens"] = 4, ["temperature"] = 0, ["ignore_eos"] = true,
        };
        if (requestId != null) body["request_id"] = requestId;
        return body;
    }

    async Task<HttpResponseMessage> Send(HttpMethod method, string path, JsonObject? body = null)
    {
        var req = new HttpRequestMessage(method, server.BaseUrl + path);
        if (body != null) req.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        return await server.Http.SendAsync(req);
    }

    int[] ExpectedTokens()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(server.ModelDir, "expected.json")));
        return doc.RootElement.GetProperty("prompts")[0].GetProperty("token_ids").EnumerateArray().Take(4).Select(x => x.GetInt32()).ToArray();
    }

    async Task<int[]> GoodChat(string kind)
    {
        var body = Body(kind);
        body["logprobs"] = true;
        body["return_tokens_as_token_ids"] = true;
        var r = await Send(HttpMethod.Post, "/v1/chat/completions", body);
        var raw = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, raw);
        return JsonDocument.Parse(raw).RootElement.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray()
            .Select(t => int.Parse(t.GetProperty("token").GetString()!["token_id:".Length..])).ToArray();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Over_http_each_bad_image_is_a_400_naming_the_problem_and_the_batch_goes_on(string kind, string message)
    {
        var good = GoodChat(kind.StartsWith("url") ? "good url" : "good");
        var r = await Send(HttpMethod.Post, "/v1/chat/completions", Body(kind));
        var raw = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{kind}: {(int)r.StatusCode} {raw}");
        Assert.Contains(message, JsonDocument.Parse(raw).RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(ExpectedTokens(), await good);
    }

    async Task<List<QueueEvent>> Follow(string id)
    {
        var r = await Send(HttpMethod.Get, $"/v1/streams/{id}?wait=60");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        return events[..^1].Select(e => QueueEvent.Parse(Encoding.UTF8.GetBytes(e["data: ".Length..]))).ToList();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Through_the_queue_each_bad_image_is_an_error_event_naming_the_problem_and_the_batch_goes_on(string kind, string message)
    {
        string id = "bad-" + kind.Replace(' ', '-'), goodId = "good-for-" + kind.Replace(' ', '-');
        var goodBody = Body(kind.StartsWith("url") ? "good url" : "good", goodId);
        Assert.Equal(HttpStatusCode.Accepted, (await Send(HttpMethod.Post, "/v1/queue/requests", Body(kind, id))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await Send(HttpMethod.Post, "/v1/queue/requests", goodBody)).StatusCode);
        var error = Assert.Single(await Follow(id));
        Assert.Equal(QueueEvents.Error, error.Type);
        Assert.Contains(message, error.Json.GetProperty("error").GetProperty("message").GetString());
        var final = (await Follow(goodId)).Last();
        Assert.Equal(QueueEvents.Final, final.Type);
        Assert.Equal(ExpectedTokens(), final.Json.GetProperty("choices")[0].GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()));
    }
}
