using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Pipeline.Streams.Queue;

/// <summary>
/// The transport over a RabbitMQ broker: a durable request queue whose rejected messages dead-letter into a durable
/// dead-letter queue, a durable topic exchange for token events, manual acknowledgement with basic.qos prefetch,
/// publisher confirms on every publish, and reconnection with backoff (topology re-declared, consumers re-subscribed).
/// Deliveries that died with a connection are skipped: the broker redelivers them on the next one.
/// </summary>
public sealed class RabbitMqQueueTransport : IQueueTransport
{
    readonly RabbitMqConnection _connection;
    readonly Action<string> _log;
    readonly CancellationTokenSource _disposed = new();

    public QueueTopology Topology { get; }
    public string Description { get; }
    /// <summary>Connections established so far (more than one after a reconnect).</summary>
    public long Connects => _connection.Connects;

    public RabbitMqQueueTransport(Uri uri, QueueTopology topology, string connectionName = "pipeline", Action<string>? log = null)
    {
        Topology = topology;
        _log = log ?? (_ => { });
        Description = $"amqp://{uri.Host}:{(uri.IsDefaultPort ? 5672 : uri.Port)}{uri.AbsolutePath}";
        _connection = new RabbitMqConnection(uri, connectionName, DeclareTopologyAsync, _log);
    }

    Dictionary<string, object?>? ExpiresArgs() => Topology.Expires is { } e ? new() { ["x-expires"] = (int)e.TotalMilliseconds } : null;

    async Task DeclareTopologyAsync(IChannel channel, CancellationToken ct)
    {
        await channel.ExchangeDeclareAsync(Topology.EventsExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
        await channel.QueueDeclareAsync(Topology.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, ExpiresArgs(), cancellationToken: ct).ConfigureAwait(false);
        var args = ExpiresArgs() ?? new Dictionary<string, object?>();
        args["x-dead-letter-exchange"] = "";
        args["x-dead-letter-routing-key"] = Topology.DeadLetterQueue;
        await channel.QueueDeclareAsync(Topology.RequestQueue, durable: true, exclusive: false, autoDelete: false, args, cancellationToken: ct).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<QueueDelivery> ConsumeAsync([EnumeratorCancellation] CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, _disposed.Token);
        // The broker never has more than `prefetch` unacknowledged deliveries out, so this buffer stays that small.
        var buffer = Channel.CreateUnbounded<QueueDelivery>(new UnboundedChannelOptions { SingleReader = true });
        _ = new RabbitMqConsumerLoop(_connection, (_, _) => Task.FromResult(Topology.RequestQueue), Topology.Prefetch, (channel, ea) =>
        {
            buffer.Writer.TryWrite(new RabbitMqDelivery(this, channel, ea.DeliveryTag, ToMessage(ea), ea.Redelivered));
            return Task.CompletedTask;
        }, _log, stop.Token, hold: _disposed.Token);
        var reader = buffer.Reader;
        try
        {
            while (true)
            {
                QueueDelivery d;
                try
                {
                    if (!await reader.WaitToReadAsync(stop.Token).ConfigureAwait(false)) yield break;
                    if (!reader.TryRead(out d!)) continue;
                }
                catch (OperationCanceledException) { yield break; }
                if (d.IsLive) yield return d;
            }
        }
        finally
        {
            // Stopped consuming: what arrived but was not handed out goes back to the queue at once.
            while (reader.TryRead(out var left)) await left.NackAsync(requeue: true).ConfigureAwait(false);
        }
    }

    public Task PublishRequestAsync(ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct) =>
        PublishAsync("", Topology.RequestQueue, body, properties, ct);

    public Task PublishEventAsync(string routingKey, ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct) =>
        PublishAsync(Topology.EventsExchange, routingKey, body, properties, ct);

    public Task PublishToQueueAsync(string queue, ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct) =>
        PublishAsync("", queue, body, properties, ct);

    /// <summary>
    /// Publishes and waits for the broker's confirm. A lost connection, a nack, or a publish stuck for
    /// <see cref="Bounded.Operation"/> (the session is then dropped and reconnected) is retried on the next session,
    /// so the same message may reach the broker twice.
    /// </summary>
    async Task PublishAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, QueueProperties p, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, _disposed.Token);
        var props = ToBasicProperties(p);
        for (int attempt = 0; ; attempt++)
        {
            var session = await _connection.CurrentAsync(stop.Token).ConfigureAwait(false);
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var publish = session.Publisher.BasicPublishAsync(exchange, routingKey, false, props, body, attemptCts.Token).AsTask();
            var done = await Task.WhenAny(publish, session.Closed, Task.Delay(Bounded.Operation, stop.Token)).ConfigureAwait(false);
            string problem;
            if (done == publish)
            {
                try
                {
                    await publish.ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { throw; }
                catch (Exception e) { problem = $"{e.GetType().Name}: {e.Message}"; }
            }
            else
            {
                stop.Token.ThrowIfCancellationRequested();
                attemptCts.Cancel();
                _ = publish.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                problem = done == session.Closed ? "the connection was lost" : $"no confirm within {Bounded.Operation.TotalSeconds:0} s";
                if (done != session.Closed) session.MarkClosed(); // a wedged connection: make the loop open a new one
            }
            if (attempt % 20 == 0) _log($"publish to '{exchange}'/'{routingKey}' failed ({problem}); retrying");
            await Task.WhenAny(session.Closed, Task.Delay(100, stop.Token)).ConfigureAwait(false);
            stop.Token.ThrowIfCancellationRequested();
        }
    }

    public async Task<IQueueSubscription> SubscribeAsync(string bindingKey, CancellationToken ct)
    {
        var r = new RabbitMqReader(this, async (ch, c) =>
        {
            await ch.ExchangeDeclareAsync(Topology.EventsExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: c).ConfigureAwait(false);
            var q = await ch.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: c).ConfigureAwait(false);
            await ch.QueueBindAsync(q.QueueName, Topology.EventsExchange, bindingKey, cancellationToken: c).ConfigureAwait(false);
            return q.QueueName;
        });
        await r.StartAsync(ct).ConfigureAwait(false);
        return r;
    }

    public async Task<IQueueSubscription> OpenQueueAsync(string? name, bool durable, CancellationToken ct)
    {
        var r = new RabbitMqReader(this, async (ch, c) =>
        {
            var q = name == null
                ? await ch.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: c).ConfigureAwait(false)
                : await ch.QueueDeclareAsync(name, durable, exclusive: false, autoDelete: false, ExpiresArgs(), cancellationToken: c).ConfigureAwait(false);
            return q.QueueName;
        });
        await r.StartAsync(ct).ConfigureAwait(false);
        return r;
    }

    public async Task<QueueMessage?> GetAsync(string queue, CancellationToken ct)
    {
        var session = await _connection.CurrentAsync(ct).ConfigureAwait(false);
        await using var ch = await session.Connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
        var r = await ch.BasicGetAsync(queue, autoAck: true, ct).ConfigureAwait(false);
        return r == null ? null : ToMessage(r.RoutingKey, r.Body, r.BasicProperties);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed.Cancel();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    static QueueMessage ToMessage(BasicDeliverEventArgs ea) => ToMessage(ea.RoutingKey, ea.Body, ea.BasicProperties);

    static QueueMessage ToMessage(string routingKey, ReadOnlyMemory<byte> body, IReadOnlyBasicProperties p)
    {
        Dictionary<string, string>? headers = null;
        if (p.Headers != null)
        {
            headers = new Dictionary<string, string>();
            foreach (var (k, v) in p.Headers)
                headers[k] = v switch { byte[] b => Encoding.UTF8.GetString(b), null => "", _ => v.ToString() ?? "" };
        }
        // The body belongs to the client's buffer only until the handler returns: copy it.
        return new QueueMessage(routingKey, body.ToArray(), new QueueProperties
        {
            MessageId = p.MessageId,
            CorrelationId = p.CorrelationId,
            ReplyTo = p.ReplyTo,
            ContentType = p.ContentType ?? "application/json",
            Persistent = p.Persistent,
            Headers = headers,
        });
    }

    static BasicProperties ToBasicProperties(QueueProperties p) => new()
    {
        MessageId = p.MessageId,
        CorrelationId = p.CorrelationId,
        ReplyTo = p.ReplyTo,
        ContentType = p.ContentType,
        DeliveryMode = p.Persistent ? DeliveryModes.Persistent : DeliveryModes.Transient,
        Headers = p.Headers?.ToDictionary(h => h.Key, h => (object?)Encoding.UTF8.GetBytes(h.Value)),
    };

    sealed class RabbitMqDelivery(RabbitMqQueueTransport transport, IChannel channel, ulong tag, QueueMessage m, bool redelivered) : QueueDelivery(m, redelivered)
    {
        public override bool IsLive => channel.IsOpen;

        // A failed or abandoned ack leaves the message unacknowledged: the broker redelivers it and the service,
        // which remembers finished request ids, acknowledges the copy without running it again.
        protected override Task AckCoreAsync(CancellationToken ct) =>
            channel.IsOpen ? Bounded.Quietly(() => channel.BasicAckAsync(tag, false, ct).AsTask(), Bounded.Close) : Task.CompletedTask;

        protected override Task NackCoreAsync(bool requeue, CancellationToken ct) =>
            channel.IsOpen ? Bounded.Quietly(() => channel.BasicNackAsync(tag, false, requeue, ct).AsTask(), Bounded.Close) : Task.CompletedTask;

        protected override async Task DeadLetterCoreAsync(string reason, CancellationToken ct)
        {
            if (!channel.IsOpen) return;
            var headers = DeadLetterHeaders(Message, reason, transport.Topology.RequestQueue);
            await transport.PublishToQueueAsync(transport.Topology.DeadLetterQueue, Message.Body, Message.Properties with { Headers = headers, Persistent = true }, ct).ConfigureAwait(false);
            await AckCoreAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Reads a queue, acknowledging each message once it is in the local buffer; re-declares and re-consumes after a reconnect.</summary>
    sealed class RabbitMqReader(RabbitMqQueueTransport transport, Func<IChannel, CancellationToken, Task<string>> setup) : IQueueSubscription
    {
        readonly Channel<QueueMessage> _buffer = Channel.CreateUnbounded<QueueMessage>();
        readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(transport._disposed.Token);
        RabbitMqConsumerLoop? _loop;

        public string QueueName { get; private set; } = "";

        public async Task StartAsync(CancellationToken ct)
        {
            _loop = new RabbitMqConsumerLoop(transport._connection, async (ch, c) => QueueName = await setup(ch, c).ConfigureAwait(false), 256, (ch, ea) =>
            {
                _buffer.Writer.TryWrite(ToMessage(ea));
                // Not awaited: a delivery handler that waits on the channel can wedge the channel's shutdown.
                if (ch.IsOpen) _ = Bounded.Quietly(() => ch.BasicAckAsync(ea.DeliveryTag, false).AsTask(), Bounded.Close);
                return Task.CompletedTask;
            }, transport._log, _stop.Token);
            _ = _loop.Completion.ContinueWith(_ => _buffer.Writer.TryComplete(), TaskScheduler.Default);
            QueueName = await _loop.Started.WaitAsync(ct).ConfigureAwait(false);
        }

        public IAsyncEnumerable<QueueMessage> ReadAllAsync(CancellationToken ct) => _buffer.Reader.ReadAllAsync(ct);

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            if (_loop != null) await Bounded.Quietly(() => _loop.Completion, Bounded.Operation).ConfigureAwait(false);
        }
    }
}
