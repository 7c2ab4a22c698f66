using System.Globalization;
using System.Runtime.CompilerServices;
using Pipeline.Actors.Speech;
using Pipeline.Host.Protocol;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Http;

/// <summary>
/// POST /v1/audio/transcriptions and /v1/audio/translations (OpenAI's audio API, as vLLM serves it): a multipart form
/// with the audio file and the request fields; answers json, text, verbose_json, srt or vtt, or with stream=true
/// vLLM's "transcription.chunk" SSE events. Bad input is a 400 naming the field.
/// </summary>
public static class TranscriptionsEndpoint
{
    /// <summary>vLLM's default ceiling on the uploaded file (VLLM_MAX_AUDIO_CLIP_FILESIZE_MB = 25).</summary>
    public const long MaxFileBytes = 25L * 1024 * 1024;

    static readonly ConditionalWeakTable<Pipeline.Actors.Engine.ModelContext, SpeechToText> Models = new();
    static readonly string[] Formats = ["json", "text", "verbose_json", "srt", "vtt"];
    static long _next;

    public static void Map(WebApplication app, Func<ServerContext> ready)
    {
        app.MapPost("/v1/audio/transcriptions", http => Handle(http, ready(), "transcribe"));
        app.MapPost("/v1/audio/translations", http => Handle(http, ready(), "translate"));
    }

    /// <summary>The speech-to-text layer of the served model (made once); 400 when it is not a speech model.</summary>
    static SpeechToText Speech(ServerContext s) =>
        Models.GetValue(s.Model, m => SpeechToText.For(m, (_, _, _) => throw new InvalidOperationException("unbound"))
            ?? throw ApiError.BadRequest($"the served model ({m.Model.Config.Architecture}) is not a speech-to-text model", "model"));

    public static async Task Handle(HttpContext http, ServerContext server, string task)
    {
        if (!http.Request.HasFormContentType)
            throw ApiError.BadRequest("send multipart/form-data with the audio in a 'file' field", "file");
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var file = form.Files.GetFile("file") ?? throw ApiError.BadRequest("'file' is required: the audio to transcribe", "file");
        if (file.Length == 0) throw ApiError.BadRequest("the audio file is empty (0 bytes)", "file");
        if (file.Length > MaxFileBytes) throw ApiError.BadRequest($"the audio file is too large: {file.Length} bytes, more than {MaxFileBytes}", "file");
        server.CheckModel(Field(form, "model"));
        var speech = Speech(server);
        var format = Field(form, "response_format") ?? "json";
        if (!Formats.Contains(format))
            throw ApiError.BadRequest($"response_format must be one of {string.Join(", ", Formats)}, not '{format}'", "response_format");
        bool stream = Bool(form, "stream") ?? false;
        bool includeUsage = Bool(form, "stream_include_usage") ?? false;
        var granularities = form["timestamp_granularities[]"].Concat(form["timestamp_granularities"]).Where(g => g != null).ToArray();
        if (granularities.Any(g => g is not ("segment" or "word")))
            throw ApiError.BadRequest("timestamp_granularities must be segment or word", "timestamp_granularities");
        if (granularities.Contains("word")) throw ApiError.BadRequest("word timestamps are not supported (segment is)", "timestamp_granularities");
        var p = new SpeechToTextParams
        {
            Task = task,
            Language = Field(form, "language") is { Length: > 0 } l ? l : null,
            Prompt = Field(form, "prompt"),
            Timestamps = format is "verbose_json" or "srt" or "vtt",
            Temperature = Float(form, "temperature") ?? 0f,
            TopP = Float(form, "top_p") ?? 1f,
            TopK = Int(form, "top_k") ?? 0,
            Seed = Int(form, "seed"),
            MaxTokens = Int(form, "max_completion_tokens"),
        };
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var runs = new List<GenerationRun>();
        var stt = speech.With((prompt, sp, ct) =>
        {
            var run = RequestLog.Track(http, new GenerationRun(server, $"{baseId}-{Interlocked.Increment(ref _next)}", prompt, sp, 0));
            lock (runs) runs.Add(run);
            return run.RunAsync(ct);
        });
        try { stt.Validate(p); }
        catch (SamplingParamsException e) { throw ApiError.BadRequest(e.Message, e.Field); }
        byte[] bytes;
        using (var ms = new MemoryStream((int)file.Length))
        {
            await file.CopyToAsync(ms, http.RequestAborted);
            bytes = ms.ToArray();
        }
        var ct = http.RequestAborted;
        var outputs = Guard(stt.RunAsync(bytes, p, ct), ct);
        if (stream) { await StreamAsync(http, server, "trsc-" + baseId, outputs, includeUsage, ct); return; }
        TranscriptionResult? result = null;
        await foreach (var o in outputs) result = o.Result ?? result;
        var usage = new TranscriptionUsage("duration", (int)Math.Ceiling(result!.Duration));
        switch (format)
        {
            case "json":
                await Json.WriteAsync(http.Response, new TranscriptionResponse(result.Text, usage), ProtocolJson.Default.TranscriptionResponse);
                break;
            case "verbose_json":
                var segments = result.Segments.Select(s => new TranscriptionSegmentJson(s.Id, s.Seek, Math.Round(s.Start, 2), Math.Round(s.End, 2), s.Text, s.Tokens,
                    p.Temperature, s.AvgLogprob, 0, 0)).ToList();
                await Json.WriteAsync(http.Response, new TranscriptionResponseVerbose(task, Pipeline.Models.Config.WhisperLanguages.NameOf(result.Language),
                    Math.Round(result.Duration, 3), result.Text, segments, usage), ProtocolJson.Default.TranscriptionResponseVerbose);
                break;
            default:
                http.Response.ContentType = format == "vtt" ? "text/vtt; charset=utf-8" : "text/plain; charset=utf-8";
                await http.Response.WriteAsync(format switch { "srt" => SubtitleFormats.Srt(result), "vtt" => SubtitleFormats.Vtt(result), _ => result.Text }, ct);
                break;
        }
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

    /// <summary>Audio and field errors from the speech layer as 400s naming the field.</summary>
    static async IAsyncEnumerable<SpeechOutput> Guard(IAsyncEnumerable<SpeechOutput> outputs, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var e = outputs.GetAsyncEnumerator(ct);
        while (true)
        {
            try { if (!await e.MoveNextAsync()) yield break; }
            catch (MediaException ex) { throw ApiError.BadRequest(ex.Message, "file"); }
            catch (SamplingParamsException ex) { throw ApiError.BadRequest(ex.Message, ex.Field); }
            yield return e.Current;
        }
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
