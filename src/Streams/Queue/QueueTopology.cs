namespace Pipeline.Streams.Queue;

/// <summary>
/// Names and limits of the queue service: the durable request queue (dead-lettering into <see cref="DeadLetterQueue"/>),
/// the durable topic exchange token events are published to (routing key = request id), and the prefetch limit —
/// the most unacknowledged requests one consumer holds, which is what carries back-pressure to the broker.
/// </summary>
public sealed record QueueTopology
{
    public string RequestQueue { get; init; } = "pipeline.requests";
    public string EventsExchange { get; init; } = "pipeline.events";
    public string DeadLetterQueue { get; init; } = "pipeline.requests.dlq";
    public ushort Prefetch { get; init; } = 256;
    /// <summary>Deletes the queues after this long unused (x-expires); for throw-away test topologies. Null: kept.</summary>
    public TimeSpan? Expires { get; init; }
}
