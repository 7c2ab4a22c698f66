namespace Pipeline.Streams.Queue;

/// <summary>
/// A message broker as the queue service sees it: a request queue consumed with manual acknowledgement and a
/// prefetch limit, a topic exchange for token events, plain queues for replies and dead letters. Implementations
/// reconnect by themselves; a publish waits for the connection and returns once the broker has confirmed it.
/// </summary>
public interface IQueueTransport : IAsyncDisposable
{
    QueueTopology Topology { get; }

    /// <summary>Where it connects, for logs (no credentials).</summary>
    string Description { get; }

    /// <summary>Request messages, at most <see cref="QueueTopology.Prefetch"/> unsettled at a time, across reconnects.</summary>
    IAsyncEnumerable<QueueDelivery> ConsumeAsync(CancellationToken ct);

    /// <summary>Publishes a request message to the request queue.</summary>
    Task PublishRequestAsync(ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct);

    /// <summary>Publishes a token event to the topic exchange under <paramref name="routingKey"/> (the request id).</summary>
    Task PublishEventAsync(string routingKey, ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct);

    /// <summary>Publishes straight to a named queue (reply_to).</summary>
    Task PublishToQueueAsync(string queue, ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct);

    /// <summary>Follows the events published under <paramref name="bindingKey"/> (topic syntax) from now on, through a private queue.</summary>
    Task<IQueueSubscription> SubscribeAsync(string bindingKey, CancellationToken ct);

    /// <summary>Reads a queue: a named one (declared, durable if asked), or a private broker-named one when <paramref name="name"/> is null.</summary>
    Task<IQueueSubscription> OpenQueueAsync(string? name, bool durable, CancellationToken ct);

    /// <summary>Takes one message off a queue, or null when it is empty (inspecting the dead-letter queue).</summary>
    Task<QueueMessage?> GetAsync(string queue, CancellationToken ct);
}

/// <summary>Messages arriving on one queue; disposing it stops reading (a private queue is then deleted).</summary>
public interface IQueueSubscription : IAsyncDisposable
{
    /// <summary>The queue's name: what to pass as reply_to.</summary>
    string QueueName { get; }
    IAsyncEnumerable<QueueMessage> ReadAllAsync(CancellationToken ct);
}
