using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Http;

/// <summary>Server-sent events as OpenAI streams them: `data: {json}` chunks, then `data: [DONE]`.</summary>
public sealed class SseWriter(HttpResponse response)
{
    bool _started;

    public async Task StartAsync()
    {
        if (_started) return;
        _started = true;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.Body.FlushAsync();
    }

    public bool Started => _started;

    public async Task WriteAsync<T>(T value, JsonTypeInfo<T> type, CancellationToken ct)
    {
        await StartAsync();
        using var ms = new MemoryStream();
        ms.Write("data: "u8);
        using (var w = new Utf8JsonWriter(ms, Json.WriterOptions)) JsonSerializer.Serialize(w, value, type);
        ms.Write("\n\n"u8);
        await response.Body.WriteAsync(ms.GetBuffer().AsMemory(0, (int)ms.Length), ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>One event whose JSON is already written.</summary>
    public async Task WriteRawAsync(byte[] json, CancellationToken ct)
    {
        await StartAsync();
        var frame = new byte[json.Length + 8];
        "data: "u8.CopyTo(frame);
        json.CopyTo(frame, 6);
        frame[^2] = (byte)'\n';
        frame[^1] = (byte)'\n';
        await response.Body.WriteAsync(frame, ct);
        await response.Body.FlushAsync(ct);
    }

    public async Task DoneAsync(CancellationToken ct)
    {
        await response.Body.WriteAsync(Encoding.ASCII.GetBytes("data: [DONE]\n\n"), ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>An error after the stream began is sent as one more event (the status is already 200).</summary>
    public Task ErrorAsync(ApiError e, CancellationToken ct) =>
        WriteAsync(new StreamErrorResponse(new StreamErrorInfo(e.Message, e.Type, e.Status)), ProtocolJson.Default.StreamErrorResponse, ct);
}

public static class Json
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    public static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 64 };

    public static async Task WriteAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, int status = 200)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions)) JsonSerializer.Serialize(w, value, type);
        await response.Body.WriteAsync(ms.GetBuffer().AsMemory(0, (int)ms.Length));
    }
}
