using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Queue;

/// <summary>
/// How the `pipeline queue` commands and bench-queue reach the queue service: straight to a RabbitMQ broker
/// (amqp://...), or through a running server (http://...: POST /v1/queue/requests, GET /v1/streams/{id}), which is
/// the way to a server's in-process queue.
/// </summary>
public abstract class QueueClient : IAsyncDisposable
{
    public static QueueClient Create(string url, QueueTopology topology, string? apiKey)
    {
        if (QueueTransports.IsBroker(url)) return new BrokerClient(QueueTransports.Create(url, topology, $"pipeline-client-{Environment.ProcessId}"));
        if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return new HttpClientBackend(url.TrimEnd('/'), apiKey);
        throw new ArgumentException($"--queue must be an amqp:// broker URL or the http:// URL of a running server, got '{url}'");
    }

    public abstract Task PublishAsync(string requestId, byte[] body, CancellationToken ct);

    /// <summary>Starts following a request's events; once it returns, no event published afterwards is missed.</summary>
    public abstract Task<IAsyncEnumerable<QueueEvent>> FollowAsync(string requestId, TimeSpan wait, CancellationToken ct);

    public abstract ValueTask DisposeAsync();

    /// <summary>Events in seq order: a copy of one already seen (a publish retried over a reconnect) is dropped; ends after the final or error.</summary>
    protected static async IAsyncEnumerable<QueueEvent> Sequenced(IAsyncEnumerable<QueueEvent> events, [EnumeratorCancellation] CancellationToken ct)
    {
        int next = 0;
        await foreach (var e in events.WithCancellation(ct).ConfigureAwait(false))
        {
            if (e.Seq < next) continue;
            next = e.Seq + 1;
            yield return e;
            if (e.IsTerminal) yield break;
        }
    }

    sealed class BrokerClient(IQueueTransport transport) : QueueClient
    {
        public override Task PublishAsync(string requestId, byte[] body, CancellationToken ct) =>
            transport.PublishRequestAsync(body, new QueueProperties { MessageId = requestId }, ct);

        public override async Task<IAsyncEnumerable<QueueEvent>> FollowAsync(string requestId, TimeSpan wait, CancellationToken ct)
        {
            var sub = await transport.SubscribeAsync(requestId, ct).ConfigureAwait(false);
            return Read(sub, ct);
        }

        static async IAsyncEnumerable<QueueEvent> Read(IQueueSubscription sub, [EnumeratorCancellation] CancellationToken ct)
        {
            await using (sub.ConfigureAwait(false))
                await foreach (var e in Sequenced(sub.ReadAllAsync(ct).Select(m => QueueEvent.Parse(m.Body.Span)), ct).ConfigureAwait(false))
                    yield return e;
        }

        public override ValueTask DisposeAsync() => transport.DisposeAsync();
    }

    sealed class HttpClientBackend : QueueClient
    {
        readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
        readonly string _baseUrl;

        public HttpClientBackend(string baseUrl, string? apiKey)
        {
            _baseUrl = baseUrl;
            if (apiKey != null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        public override async Task PublishAsync(string requestId, byte[] body, CancellationToken ct)
        {
            using var r = await _http.PostAsync(_baseUrl + "/v1/queue/requests", new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }, ct).ConfigureAwait(false);
            if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"publishing to {_baseUrl} failed: HTTP {(int)r.StatusCode} {await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
        }

        // The server replays a stream from its start, so following can begin after publishing.
        public override Task<IAsyncEnumerable<QueueEvent>> FollowAsync(string requestId, TimeSpan wait, CancellationToken ct) =>
            Task.FromResult(Sequenced(ReadSse(requestId, wait, ct), ct));

        async IAsyncEnumerable<QueueEvent> ReadSse(string requestId, TimeSpan wait, [EnumeratorCancellation] CancellationToken ct)
        {
            var url = $"{_baseUrl}/v1/streams/{Uri.EscapeDataString(requestId)}?wait={wait.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            using var r = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"following {requestId} failed: HTTP {(int)r.StatusCode} {await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
            using var reader = new StreamReader(await r.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (!line.StartsWith("data: ") || line == "data: [DONE]") continue;
                yield return QueueEvent.Parse(Encoding.UTF8.GetBytes(line[6..]));
            }
        }

        public override ValueTask DisposeAsync()
        {
            _http.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
