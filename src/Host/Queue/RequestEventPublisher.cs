using Pipeline.Streams.Queue;

namespace Pipeline.Host.Queue;

/// <summary>
/// Publishes one request's events in order, numbered from 0: to the hub (for /v1/streams), to the topic exchange
/// under the request id and, when the request names one, to its reply_to queue with its correlation_id. Each publish
/// returns once the broker has confirmed it; the final and error events are persistent.
/// </summary>
sealed class RequestEventPublisher(IQueueTransport transport, StreamHub hub, string requestId, string? replyTo, string? correlationId, bool keep = false)
{
    int _seq;

    /// <summary>The events built so far, (seq, body), when asked to keep them (for the durable request state).</summary>
    public List<(int Seq, byte[] Body)> Kept { get; } = new();

    public Task PublishAsync(Func<int, byte[]> build, string type, CancellationToken ct) => SendAsync(Build(build, type), ct);

    /// <summary>Numbers and writes the next event without sending it (the final is stored before it is sent).</summary>
    public (int Seq, byte[] Body, string Type) Build(Func<int, byte[]> build, string type)
    {
        int seq = _seq++;
        var body = build(seq);
        if (keep) Kept.Add((seq, body));
        return (seq, body, type);
    }

    /// <summary>Sends stored events of a request finished in an earlier life again (same seq: followers drop copies).</summary>
    public static async Task RepublishAsync(IQueueTransport transport, StreamHub hub, string requestId, string? replyTo, string? correlationId,
        IReadOnlyList<(int Seq, byte[] Body)> stored, CancellationToken ct)
    {
        var p = new RequestEventPublisher(transport, hub, requestId, replyTo, correlationId);
        for (int i = 0; i < stored.Count; i++)
            await p.SendAsync((stored[i].Seq, stored[i].Body, i == stored.Count - 1 ? QueueEvents.Final : QueueEvents.Delta), ct, toHub: false).ConfigureAwait(false);
    }

    public async Task SendAsync((int Seq, byte[] Body, string Type) e, CancellationToken ct, bool toHub = true)
    {
        var (seq, body, type) = e;
        bool terminal = type is QueueEvents.Final or QueueEvents.Error;
        if (toHub) hub.Publish(requestId, body, terminal);
        var props = new QueueProperties
        {
            MessageId = $"{requestId}:{seq}",
            CorrelationId = correlationId ?? requestId,
            Persistent = terminal,
            Headers = new Dictionary<string, string> { ["x-pipeline-event"] = type },
        };
        var toExchange = transport.PublishEventAsync(requestId, body, props, ct);
        if (replyTo != null) await Task.WhenAll(toExchange, transport.PublishToQueueAsync(replyTo, body, props, ct)).ConfigureAwait(false);
        else await toExchange.ConfigureAwait(false);
    }
}
