namespace Pipeline.Streams.Queue;

/// <summary>The AMQP properties a message carries that the queue service reads or sets.</summary>
public sealed record QueueProperties
{
    public string? MessageId { get; init; }
    public string? CorrelationId { get; init; }
    public string? ReplyTo { get; init; }
    public string ContentType { get; init; } = "application/json";
    /// <summary>Survives a broker restart when it sits in a durable queue.</summary>
    public bool Persistent { get; init; } = true;
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    public static readonly QueueProperties Default = new();
}

/// <summary>One message as read from a queue: where it was routed, its body and properties.</summary>
public sealed record QueueMessage(string RoutingKey, ReadOnlyMemory<byte> Body, QueueProperties Properties);
