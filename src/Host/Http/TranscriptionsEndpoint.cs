using System.Globalization;
using Pipeline.Actors.Speech;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Http;

/// <summary>
/// POST /v1/audio/transcriptions and /v1/audio/translations (OpenAI's audio API, as vLLM serves it): a multipart form
/// with the audio file and the request fields; answers json, text, verbose_json, srt or vtt, or with stream=true
/// vLLM's "transcription.chunk" SSE events. Bad input is a 400 naming the field. The queue's audio messages take the
/// same path (<see cref="SpeechServing"/>).
/// </summary>
public static class TranscriptionsEndpoint
{
    public static void Map(WebApplication app, Func<ServerContext> ready)
    {
        app.MapPost("/v1/audio/transcriptions", http => Handle(http, ready(), "transcribe"));
        app.MapPost("/v1/audio/translations", http => Handle(http, ready(), "translate"));
    }

    public static async Task Handle(HttpContext http, ServerContext server, string task)
    {
        if (!http.Request.HasFormContentType)
            throw ApiError.BadRequest("send multipart/form-data with the audio in a 'file' field", "file");
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var file = form.Files.GetFile("file") ?? throw ApiError.BadRequest("'file' is required: the audio to transcribe", "file");
        if (file.Length == 0) throw ApiError.BadRequest("the audio file is empty (0 bytes)", "file");
        if (file.Length > TranscriptionRequest.MaxFileBytes)
            throw ApiError.BadRequest($"the audio file is too large: {file.Length} bytes, more than {TranscriptionRequest.MaxFileBytes}", "file");
        server.CheckModel(Field(form, "model"));
        SpeechServing.Model(server);
        bool stream = Bool(form, "stream") ?? false;
        bool includeUsage = Bool(form, "stream_include_usage") ?? false;
        var granularities = form["timestamp_granularities[]"].Concat(form["timestamp_granularities"]).Where(g => g != null).ToArray();
        if (granularities.Any(g => g is not ("segment" or "word")))
            throw ApiError.BadRequest("timestamp_granularities must be segment or word", "timestamp_granularities");
        if (granularities.Contains("word")) throw ApiError.BadRequest("word timestamps are not supported (segment is)", "timestamp_granularities");
        var request = new TranscriptionRequest
        {
            Language = Field(form, "language"),
            Prompt = Field(form, "prompt"),
            ResponseFormat = Field(form, "response_format"),
            Temperature = Float(form, "temperature"),
            TopP = Float(form, "top_p"),
            TopK = Int(form, "top_k"),
            Seed = Int(form, "seed"),
            MaxCompletionTokens = Int(form, "max_completion_tokens"),
        };
        request.Validate();
        var p = request.ToParams(task);
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var stt = SpeechServing.Bind(server, baseId, track: run => RequestLog.Track(http, run));
        SpeechServing.Validate(stt, p);
        byte[] bytes;
        using (var ms = new MemoryStream((int)file.Length))
        {
            await file.CopyToAsync(ms, http.RequestAborted);
            bytes = ms.ToArray();
        }
        var ct = http.RequestAborted;
        var outputs = SpeechServing.Checked(stt.RunAsync(bytes, p, ct), ct);
        if (stream) { await StreamAsync(http, server, "trsc-" + baseId, outputs, includeUsage, ct); return; }
        TranscriptionResult? result = null;
        await foreach (var o in outputs) result = o.Result ?? result;
        var (contentType, body) = SpeechServing.Response(result!, request.Format, task, p.Temperature);
        http.Response.ContentType = contentType;
        await http.Response.Body.WriteAsync(body, ct);
    }

    static async Task StreamAsync(HttpContext http, ServerContext server, string id, IAsyncEnumerable<SpeechOutput> outputs, bool includeUsage, CancellationToken ct)
    {
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var sse = new SseWriter(http.Response);
        TranscriptionStreamResponse Chunk(IReadOnlyList<TranscriptionStreamChoice> choices, UsageInfo? usage = null) =>
            new(id, "transcription.chunk", created, server.ServedModelName, choices, usage);
        try
        {
            await foreach (var o in outputs)
            {
                if (o.Result is { } r)
                {
                    await sse.WriteAsync(Chunk([new TranscriptionStreamChoice(new TranscriptionDelta(""), r.FinishReason ?? "stop")]), ProtocolJson.Default.TranscriptionStreamResponse, ct);
                    if (includeUsage)
                        await sse.WriteAsync(Chunk([], UsageInfo.Generation(r.PromptTokens, r.CompletionTokens)), ProtocolJson.Default.TranscriptionStreamResponse, ct);
                }
                else if (o.Delta.Length > 0)
                    await sse.WriteAsync(Chunk([new TranscriptionStreamChoice(new TranscriptionDelta(o.Delta))]), ProtocolJson.Default.TranscriptionStreamResponse, ct);
            }
        }
        catch (ApiError e) when (sse.Started) { await sse.ErrorAsync(e, ct); }
        await sse.StartAsync();
        await sse.DoneAsync(ct);
    }

    static string? Field(IFormCollection form, string name) => form.TryGetValue(name, out var v) ? v.ToString() : null;

    static bool? Bool(IFormCollection form, string name) => Field(form, name) is not { } s ? null
        : bool.TryParse(s, out var b) ? b : throw ApiError.BadRequest($"'{name}' must be true or false, not '{s}'", name);

    static float? Float(IFormCollection form, string name) => Field(form, name) is not { Length: > 0 } s ? null
        : float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && float.IsFinite(f) ? f
        : throw ApiError.BadRequest($"'{name}' must be a number, not '{s}'", name);

    static int? Int(IFormCollection form, string name) => Field(form, name) is not { Length: > 0 } s ? null
        : int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i
        : throw ApiError.BadRequest($"'{name}' must be an integer, not '{s}'", name);
}
