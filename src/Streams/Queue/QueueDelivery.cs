namespace Pipeline.Streams.Queue;

/// <summary>
/// A request message handed to the consumer under manual acknowledgement. Exactly one of ack, nack or dead-letter
/// settles it; later calls do nothing. After the connection it came on is lost, settling is a no-op: the broker
/// has already put the message back and delivers it again.
/// </summary>
public abstract class QueueDelivery(QueueMessage message, bool redelivered)
{
    int _settled;

    public QueueMessage Message { get; } = message;
    /// <summary>The broker delivered this message before (to this or another consumer) without an acknowledgement.</summary>
    public bool Redelivered { get; } = redelivered;
    public bool Settled => Volatile.Read(ref _settled) == 1;
    /// <summary>False once the connection it came on is gone; settling it then does nothing.</summary>
    public abstract bool IsLive { get; }

    public Task AckAsync(CancellationToken ct = default) => Settle() ? AckCoreAsync(ct) : Task.CompletedTask;

    public Task NackAsync(bool requeue, CancellationToken ct = default) => Settle() ? NackCoreAsync(requeue, ct) : Task.CompletedTask;

    /// <summary>Copies the message to the dead-letter queue with the reason in the x-pipeline-error header, then acknowledges it.</summary>
    public Task DeadLetterAsync(string reason, CancellationToken ct = default) => Settle() ? DeadLetterCoreAsync(reason, ct) : Task.CompletedTask;

    bool Settle() => Interlocked.Exchange(ref _settled, 1) == 0;

    protected abstract Task AckCoreAsync(CancellationToken ct);
    protected abstract Task NackCoreAsync(bool requeue, CancellationToken ct);
    protected abstract Task DeadLetterCoreAsync(string reason, CancellationToken ct);

    /// <summary>The headers a dead-lettered copy carries: the original ones plus the reason and where it came from.</summary>
    public static Dictionary<string, string> DeadLetterHeaders(QueueMessage m, string reason, string sourceQueue)
    {
        var h = m.Properties.Headers?.ToDictionary() ?? new Dictionary<string, string>();
        h[QueueHeaders.Error] = reason;
        h[QueueHeaders.OriginalQueue] = sourceQueue;
        return h;
    }
}

public static class QueueHeaders
{
    /// <summary>Why a message was dead-lettered.</summary>
    public const string Error = "x-pipeline-error";
    public const string OriginalQueue = "x-pipeline-original-queue";
}
