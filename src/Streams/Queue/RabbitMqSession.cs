using RabbitMQ.Client;

namespace Pipeline.Streams.Queue;

/// <summary>One live connection to the broker and its publishing channel (publisher confirms tracked by the client).</summary>
sealed class RabbitMqSession(IConnection connection, IChannel publisher, long generation)
{
    readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IConnection Connection { get; } = connection;
    public IChannel Publisher { get; } = publisher;
    public long Generation { get; } = generation;
    /// <summary>Completes when the connection or the publishing channel is gone.</summary>
    public Task Closed => _closed.Task;

    public void MarkClosed() => _closed.TrySetResult();
}
