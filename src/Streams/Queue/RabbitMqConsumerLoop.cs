using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Pipeline.Streams.Queue;

/// <summary>
/// Consumes one queue under manual acknowledgement for as long as it runs: opens a channel on the current session,
/// sets the prefetch, (re)declares what it needs through <c>setup</c> (which returns the queue name), and consumes;
/// when the channel or connection dies it does it all again on the next session.
/// </summary>
sealed class RabbitMqConsumerLoop
{
    readonly RabbitMqConnection _connection;
    readonly Func<IChannel, CancellationToken, Task<string>> _setup;
    readonly ushort _prefetch;
    readonly Func<IChannel, BasicDeliverEventArgs, Task> _onDelivery;
    readonly Action<string> _log;
    readonly TaskCompletionSource<string> _firstSetup = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationToken _hold;
    readonly Task _loop;

    /// <param name="ct">Stops consuming.</param>
    /// <param name="hold">When it can be cancelled: after <paramref name="ct"/> stops the consumer (basic.cancel), the channel stays open until
    /// this is cancelled, so the deliveries still being worked on can be acknowledged on it instead of going back to the queue.</param>
    public RabbitMqConsumerLoop(RabbitMqConnection connection, Func<IChannel, CancellationToken, Task<string>> setup, ushort prefetch,
        Func<IChannel, BasicDeliverEventArgs, Task> onDelivery, Action<string> log, CancellationToken ct, CancellationToken hold = default)
    {
        _hold = hold;
        _connection = connection;
        _setup = setup;
        _prefetch = prefetch;
        _onDelivery = onDelivery;
        _log = log;
        _loop = Task.Run(() => RunAsync(ct));
    }

    /// <summary>The queue's name once it is declared and consumed the first time.</summary>
    public Task<string> Started => _firstSetup.Task;

    public Task Completion => _loop;

    async Task RunAsync(CancellationToken ct)
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2));
        while (!ct.IsCancellationRequested)
        {
            IChannel? channel = null;
            try
            {
                var session = await _connection.CurrentAsync(ct).ConfigureAwait(false);
                using var setupLimit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                setupLimit.CancelAfter(Bounded.Operation);
                var st = setupLimit.Token;
                channel = await session.Connection.CreateChannelAsync(cancellationToken: st).ConfigureAwait(false);
                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                channel.ChannelShutdownAsync += (_, _) => { closed.TrySetResult(); return Task.CompletedTask; };
                await channel.BasicQosAsync(0, _prefetch, false, st).ConfigureAwait(false);
                var queue = await _setup(channel, st).ConfigureAwait(false);
                var consumer = new AsyncEventingBasicConsumer(channel);
                var ch = channel;
                consumer.ReceivedAsync += (_, ea) => _onDelivery(ch, ea);
                var consumerTag = await channel.BasicConsumeAsync(queue, autoAck: false, consumer, st).ConfigureAwait(false);
                _firstSetup.TrySetResult(queue);
                backoff.Reset();
                var lost = Task.WhenAny(closed.Task, session.Closed);
                try { await lost.WaitAsync(ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested && _hold.CanBeCanceled)
                {
                    await Bounded.Quietly(() => channel.BasicCancelAsync(consumerTag), Bounded.Close).ConfigureAwait(false);
                    try { await lost.WaitAsync(_hold).ConfigureAwait(false); } catch (OperationCanceledException) { }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            catch (Exception e)
            {
                _log($"consumer setup failed: {e.GetType().Name}: {e.Message}");
                if (e is RabbitMQ.Client.Exceptions.OperationInterruptedException { ShutdownReason.ReplyCode: 404 or 403 or 406 } && !_firstSetup.Task.IsCompleted)
                    _firstSetup.TrySetException(e); // a declaration the broker refuses will not succeed by retrying
            }
            finally
            {
                if (channel != null)
                {
                    var ch = channel;
                    if (ch.IsOpen) await Bounded.Quietly(() => ch.CloseAsync(), Bounded.Close).ConfigureAwait(false);
                    await Bounded.Quietly(ch.DisposeAsync, Bounded.Close).ConfigureAwait(false);
                }
            }
            if (ct.IsCancellationRequested) break;
            try { await Task.Delay(backoff.Next(), ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
        _firstSetup.TrySetCanceled();
    }
}
