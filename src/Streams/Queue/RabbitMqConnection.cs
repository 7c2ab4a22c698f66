using RabbitMQ.Client;

namespace Pipeline.Streams.Queue;

/// <summary>
/// Keeps one connection to the broker open: connects, declares the topology, hands the session out, and when the
/// connection drops (network, `close_connection`, broker restart) connects again with exponential backoff.
/// The client library's own automatic recovery is off: this loop owns reconnection, so the consumers can tell
/// which deliveries died with the old connection.
/// </summary>
sealed class RabbitMqConnection : IAsyncDisposable
{
    readonly ConnectionFactory _factory;
    readonly string _name;
    readonly Func<IChannel, CancellationToken, Task> _declareTopology;
    readonly Action<string> _log;
    readonly CancellationTokenSource _stop = new();
    readonly object _gate = new();
    readonly Task _loop;
    TaskCompletionSource<RabbitMqSession> _current = new(TaskCreationOptions.RunContinuationsAsynchronously);
    long _generation;

    public RabbitMqConnection(Uri uri, string name, Func<IChannel, CancellationToken, Task> declareTopology, Action<string> log)
    {
        _factory = new ConnectionFactory
        {
            Uri = uri,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedHeartbeat = TimeSpan.FromSeconds(10),
            ClientProvidedName = name,
        };
        _name = name;
        _declareTopology = declareTopology;
        _log = log;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>How many times a connection was established (1 for the first).</summary>
    public long Connects => Interlocked.Read(ref _generation);

    /// <summary>The live session, waiting for the connection if it is down.</summary>
    public Task<RabbitMqSession> CurrentAsync(CancellationToken ct)
    {
        Task<RabbitMqSession> t;
        lock (_gate) t = _current.Task;
        return t.IsCompleted ? t : t.WaitAsync(ct);
    }

    async Task RunAsync()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            IConnection? connection = null;
            RabbitMqSession? session = null;
            try
            {
                connection = await _factory.CreateConnectionAsync(_name, ct).ConfigureAwait(false);
                var publisher = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct).ConfigureAwait(false);
                using (var declaring = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    declaring.CancelAfter(Bounded.Operation);
                    await _declareTopology(publisher, declaring.Token).ConfigureAwait(false);
                }
                session = new RabbitMqSession(connection, publisher, Interlocked.Increment(ref _generation));
                connection.ConnectionShutdownAsync += (_, _) => { session.MarkClosed(); return Task.CompletedTask; };
                publisher.ChannelShutdownAsync += (_, _) => { session.MarkClosed(); return Task.CompletedTask; };
                if (!connection.IsOpen || publisher.IsClosed) session.MarkClosed();
                lock (_gate) _current.TrySetResult(session);
                if (session.Generation > 1) _log($"reconnected to the broker (connection {session.Generation})");
                backoff.Reset();
                await session.Closed.WaitAsync(ct).ConfigureAwait(false);
                _log("lost the broker connection; reconnecting");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            catch (Exception e) { _log($"broker connection failed: {e.GetType().Name}: {e.Message}"); }
            finally
            {
                lock (_gate)
                    if (_current.Task.IsCompleted) _current = new TaskCompletionSource<RabbitMqSession>(TaskCreationOptions.RunContinuationsAsynchronously);
                session?.MarkClosed();
                if (connection != null) await CloseQuietly(connection).ConfigureAwait(false);
            }
            if (ct.IsCancellationRequested) break;
            try { await Task.Delay(backoff.Next(), ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    static async Task CloseQuietly(IConnection connection)
    {
        await Bounded.Quietly(() => connection.CloseAsync(TimeSpan.FromSeconds(2)), Bounded.Close).ConfigureAwait(false);
        await Bounded.Quietly(connection.DisposeAsync, Bounded.Close).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Bounded.Quietly(() => _loop, Bounded.Operation).ConfigureAwait(false);
        lock (_gate) _current.TrySetCanceled();
    }
}
