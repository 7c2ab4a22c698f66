using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Speech;
using Pipeline.Host.Protocol;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Http;

/// <summary>
/// What the transcription endpoints and the queue's audio messages share: the served model's speech-to-text layer bound
/// to the engine (each window a <see cref="GenerationRun"/>, counted by the metrics), errors as 400s naming the field,
/// and the answer's body for each response_format.
/// </summary>
public static class SpeechServing
{
    static readonly ConditionalWeakTable<ModelContext, SpeechToText> Models = new();
    static long _next;

    /// <summary>The speech-to-text layer of the served model (made once); 400 when it is not a speech model.</summary>
    public static SpeechToText Model(ServerContext s) =>
        Models.GetValue(s.Model, m => SpeechToText.For(m, (_, _, _) => throw new InvalidOperationException("unbound"))
            ?? throw ApiError.BadRequest($"the served model ({m.Model.Config.Architecture}) is not a speech-to-text model", "model"));

    /// <summary>The served model's speech-to-text over the engine; every engine request is a run named from <paramref name="baseId"/>.</summary>
    /// <param name="everyStep">One engine output per step (the queue's, so that a rerun publishes the same deltas).</param>
    public static SpeechToText Bind(ServerContext server, string baseId, int priority = 0, Func<GenerationRun, GenerationRun>? track = null,
        bool everyStep = false) =>
        Model(server).With((prompt, sp, ct) =>
        {
            var run = new GenerationRun(server, $"{baseId}-{Interlocked.Increment(ref _next)}", prompt, sp, priority, everyStep: everyStep);
            return (track?.Invoke(run) ?? run).RunAsync(ct);
        });

    /// <summary>Checks the request's fields before any audio work: a 400 naming the field.</summary>
    public static void Validate(SpeechToText stt, SpeechToTextParams p)
    {
        try { stt.Validate(p); }
        catch (SamplingParamsException e) { throw ApiError.BadRequest(e.Message, e.Field); }
    }

    /// <summary>Audio and field errors from the speech layer as 400s naming the field.</summary>
    public static async IAsyncEnumerable<SpeechOutput> Checked(IAsyncEnumerable<SpeechOutput> outputs, [EnumeratorCancellation] CancellationToken ct)
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

    /// <summary>The endpoint's answer for a response_format: JSON for json and verbose_json, text for text, srt and vtt.</summary>
    public static (string ContentType, byte[] Body) Response(TranscriptionResult result, string format, string task, float temperature)
    {
        var usage = new TranscriptionUsage("duration", (int)Math.Ceiling(result.Duration));
        switch (format)
        {
            case "json":
                return ("application/json", Serialize(new TranscriptionResponse(result.Text, usage), ProtocolJson.Default.TranscriptionResponse));
            case "verbose_json":
                var segments = result.Segments.Select(s => new TranscriptionSegmentJson(s.Id, s.Seek, Math.Round(s.Start, 2), Math.Round(s.End, 2), s.Text, s.Tokens,
                    temperature, s.AvgLogprob, 0, 0)).ToList();
                return ("application/json", Serialize(new TranscriptionResponseVerbose(task, Pipeline.Models.Config.WhisperLanguages.NameOf(result.Language),
                    Math.Round(result.Duration, 3), result.Text, segments, usage), ProtocolJson.Default.TranscriptionResponseVerbose));
            default:
                var text = format switch { "srt" => SubtitleFormats.Srt(result), "vtt" => SubtitleFormats.Vtt(result), _ => result.Text };
                return (format == "vtt" ? "text/vtt; charset=utf-8" : "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text));
        }
    }

    static byte[] Serialize<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Json.WriterOptions)) JsonSerializer.Serialize(w, value, type);
        return ms.ToArray();
    }
}
