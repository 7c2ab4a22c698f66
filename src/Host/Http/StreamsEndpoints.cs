using System.Text.Json;
using Pipeline.Host.Protocol;
using Pipeline.Host.Queue;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Http;

/// <summary>
/// The queue service over HTTP: `GET /v1/streams/{request_id}` follows a request's token events as server-sent events
/// (replayed from its start, then live, `data: [DONE]` after the final), and `POST /v1/queue/requests` puts a request
/// message on the request queue (how `pipeline queue publish` reaches the in-process queue of a running server).
/// </summary>
public static class StreamsEndpoints
{
    public static void Map(WebApplication app, Func<ServerContext> ready)
    {
        app.MapGet("/v1/streams/{requestId}", async (HttpContext http, string requestId) =>
        {
            var queue = QueueOf(ready());
            if (!QueueRequestParser.IsValidRequestId(requestId)) throw ApiError.BadRequest("not a valid request id", "request_id");
            double wait = 30;
            if (http.Request.Query["wait"] is { Count: > 0 } given && !string.IsNullOrEmpty(given[0]))
            {
                if (!double.TryParse(given[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out wait) || !double.IsFinite(wait) || wait < 0)
                    throw ApiError.BadRequest($"wait must be a number of seconds >= 0, got '{given[0]}'", "wait");
                wait = Math.Min(wait, 3600);
            }
            var ct = http.RequestAborted;
            using var following = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var events = queue.Hub.Follow(requestId, following.Token).GetAsyncEnumerator(following.Token);
            try
            {
                // Answer 404 (not an empty stream) when the id does not show up within the wait.
                var first = events.MoveNextAsync().AsTask();
                if (await Task.WhenAny(first, Task.Delay(TimeSpan.FromSeconds(wait), ct)) != first)
                {
                    following.Cancel();
                    try { await first; } catch (OperationCanceledException) { }
                    throw new ApiError(404, $"no stream for request id '{requestId}' started within {wait:0.#} s (only requests this server runs can be followed here)", "request_id");
                }
                if (!await first) throw new ApiError(404, $"no stream for request id '{requestId}'", "request_id");
                var sse = new SseWriter(http.Response);
                do await sse.WriteRawAsync(events.Current, ct);
                while (await events.MoveNextAsync());
                await sse.DoneAsync(ct);
            }
            finally { await events.DisposeAsync(); }
        });

        app.MapPost("/v1/queue/requests", async http =>
        {
            var queue = QueueOf(ready());
            var root = await ApiServer.Body(http);
            var id = RequestReader.Deserialize<QueueEnvelope>(root).RequestId;
            // The body goes on the queue as it came (re-serializing would choke on what the consumer must judge, such as
            // lone surrogates); a missing request_id is spliced in after the opening brace.
            var raw = root.GetRawText();
            if (id == null)
            {
                id = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
                var rest = raw.AsSpan(1).TrimStart();
                raw = "{\"request_id\":" + "\"" + JsonEncodedText.Encode(id).ToString() + "\"" + (rest.StartsWith("}") ? "" : ",") + rest.ToString();
            }
            await queue.Transport.PublishRequestAsync(System.Text.Encoding.UTF8.GetBytes(raw), new QueueProperties { MessageId = id }, http.RequestAborted);
            await Json.WriteAsync(http.Response, new QueueAccepted(id, queue.Transport.Topology.RequestQueue), ProtocolJson.Default.QueueAccepted, 202);
        });
    }

    static QueueService QueueOf(ServerContext s) => s.Queue ?? throw new ApiError(404, "the queue service is off (start the server without --queue off)");
}
