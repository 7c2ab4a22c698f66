namespace Pipeline.Streams.Queue;

/// <summary>Picks the transport for a --queue value: inproc (or nothing) is the in-process default, amqp(s)://... a RabbitMQ broker.</summary>
public static class QueueTransports
{
    public static bool IsBroker(string? url) => url != null && (url.StartsWith("amqp://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("amqps://", StringComparison.OrdinalIgnoreCase));

    public static IQueueTransport Create(string? url, QueueTopology topology, string connectionName = "pipeline", Action<string>? log = null)
    {
        if (string.IsNullOrEmpty(url) || url == "inproc") return new InProcessQueueTransport(topology);
        if (IsBroker(url))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) throw new ArgumentException($"--queue: '{url}' is not a valid amqp:// URL");
            return new RabbitMqQueueTransport(uri, topology, connectionName, log);
        }
        throw new ArgumentException($"--queue must be inproc or an amqp://user:pass@host:port/vhost URL, got '{url}'");
    }
}
