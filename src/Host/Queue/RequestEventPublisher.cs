using Pipeline.Streams.Queue;

namespace Pipeline.Host.Queue;

/// <summary>
/// Publishes one request's events in order, numbered from 0: to the hub (for /v1/streams), to the topic exchange
/// under the request id and, when the request names one, to its reply_to queue with its correlation_id. Each publish
/// returns once the broker has confirmed it; the final and error events are persistent.
/// </summary>
sealed class RequestEventPublisher(IQueueTransport transport, StreamHub hub, string requestId, string? replyTo, string? correlationId)
{
    int _seq;

    public async Task PublishAsync(Func<int, byte[]> build, string type, CancellationToken ct)
    {
        int seq = _seq++;
        var body = build(seq);
        bool terminal = type is QueueEvents.Final or QueueEvents.Error;
        hub.Publish(requestId, body, terminal);
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
