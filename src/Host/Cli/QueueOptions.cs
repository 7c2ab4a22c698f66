using Pipeline.Streams.Queue;

namespace Pipeline.Host.Cli;

/// <summary>The queue names every queue-speaking command shares (serve, queue publish/follow, bench-queue).</summary>
public static class QueueOptions
{
    public static readonly QueueTopology Defaults = new();

    public static readonly OptionSpec[] Topology =
    [
        new("queue-name", "durable queue request messages are consumed from", Defaults.RequestQueue),
        new("queue-exchange", "durable topic exchange token events are published to (routing key: the request id)", Defaults.EventsExchange),
        new("queue-dead-letter", "durable queue invalid request messages go to, with the reason in the x-pipeline-error header", Defaults.DeadLetterQueue),
    ];

    /// <summary>The topology named by the options; <paramref name="prefetch"/> only matters to a consumer (serve).</summary>
    public static QueueTopology ToTopology(ParsedArgs a, int? prefetch = null)
    {
        prefetch ??= Defaults.Prefetch;
        if (prefetch is < 1 or > ushort.MaxValue) throw new CliException($"--queue-prefetch must be between 1 and {ushort.MaxValue}, got {prefetch}");
        return new QueueTopology
        {
            RequestQueue = a.Get("queue-name")!,
            EventsExchange = a.Get("queue-exchange")!,
            DeadLetterQueue = a.Get("queue-dead-letter")!,
            Prefetch = (ushort)prefetch.Value,
        };
    }
}
