using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Pipeline.Streams.Queue;

/// <summary>
/// The default transport when no broker is configured: queues, a topic exchange and manual acknowledgement with
/// prefetch, all in this process (System.Threading.Channels and locks). Same semantics as the broker, including
/// redelivery of unsettled messages on <see cref="SimulateConnectionLoss"/>, so the service logic is testable without one.
/// Nothing survives the process.
/// </summary>
public sealed class InProcessQueueTransport(QueueTopology? topology = null) : IQueueTransport
{
    sealed record Subscriber(string Pattern, Channel<QueueMessage> Channel);

    readonly ConcurrentDictionary<string, InProcessQueue> _queues = new();
    readonly List<Subscriber> _subscribers = new();
    long _privateQueues;

    public QueueTopology Topology { get; } = topology ?? new QueueTopology();
    public string Description => "in-process queue";

    InProcessQueue Queue(string name) => _queues.GetOrAdd(name, n => new InProcessQueue(n));

    /// <summary>Messages waiting (not delivered) in a queue.</summary>
    public int CountOf(string queue) => Queue(queue).Count;

    /// <summary>Messages delivered from a queue and not settled yet.</summary>
    public int UnsettledOf(string queue) => Queue(queue).Unsettled;

    /// <summary>Every unsettled delivery is put back, marked redelivered, and settling the old delivery does nothing.</summary>
    public void SimulateConnectionLoss()
    {
        foreach (var q in _queues.Values) q.RequeueAllUnacked();
    }

    public async IAsyncEnumerable<QueueDelivery> ConsumeAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var queue = Queue(Topology.RequestQueue);
        int outstanding = 0;
        while (!ct.IsCancellationRequested)
        {
            if (Volatile.Read(ref outstanding) < Topology.Prefetch && queue.TryDeliver(() => { Interlocked.Decrement(ref outstanding); queue.Pulse(); }) is { } d)
            {
                Interlocked.Increment(ref outstanding);
                yield return new InProcessDelivery(this, queue, d.Message, d.Redelivered, d.Tag);
                continue;
            }
            try { await queue.WaitAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { yield break; }
        }
    }

    public Task PublishRequestAsync(ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct) =>
        PublishToQueueAsync(Topology.RequestQueue, body, properties, ct);

    public Task PublishEventAsync(string routingKey, ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct)
    {
        var m = new QueueMessage(routingKey, body.ToArray(), properties);
        lock (_subscribers)
            foreach (var s in _subscribers)
                if (TopicPattern.Matches(s.Pattern, routingKey)) s.Channel.Writer.TryWrite(m);
        return Task.CompletedTask;
    }

    public Task PublishToQueueAsync(string queue, ReadOnlyMemory<byte> body, QueueProperties properties, CancellationToken ct)
    {
        Queue(queue).Enqueue(new QueueMessage(queue, body.ToArray(), properties));
        return Task.CompletedTask;
    }

    public Task<IQueueSubscription> SubscribeAsync(string bindingKey, CancellationToken ct)
    {
        var s = new Subscriber(bindingKey, Channel.CreateUnbounded<QueueMessage>());
        lock (_subscribers) _subscribers.Add(s);
        return Task.FromResult<IQueueSubscription>(new TopicSubscription(this, s));
    }

    public Task<IQueueSubscription> OpenQueueAsync(string? name, bool durable, CancellationToken ct)
    {
        var queue = Queue(name ?? $"inproc.private.{Interlocked.Increment(ref _privateQueues)}");
        return Task.FromResult<IQueueSubscription>(new QueueReader(this, queue, deleteOnDispose: name == null));
    }

    public Task<QueueMessage?> GetAsync(string queue, CancellationToken ct) => Task.FromResult(Queue(queue).TryTake());

    public ValueTask DisposeAsync()
    {
        lock (_subscribers) foreach (var s in _subscribers) s.Channel.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    sealed class InProcessDelivery(InProcessQueueTransport transport, InProcessQueue queue, QueueMessage m, bool redelivered, long tag) : QueueDelivery(m, redelivered)
    {
        public override bool IsLive => queue.IsUnacked(tag);
        protected override Task AckCoreAsync(CancellationToken ct) { queue.Settle(tag, requeue: false); return Task.CompletedTask; }
        protected override Task NackCoreAsync(bool requeue, CancellationToken ct) { queue.Settle(tag, requeue); return Task.CompletedTask; }

        protected override Task DeadLetterCoreAsync(string reason, CancellationToken ct)
        {
            if (!queue.IsUnacked(tag)) return Task.CompletedTask;
            var headers = DeadLetterHeaders(Message, reason, queue.Name);
            transport.Queue(transport.Topology.DeadLetterQueue).Enqueue(Message with { Properties = Message.Properties with { Headers = headers } });
            queue.Settle(tag, requeue: false);
            return Task.CompletedTask;
        }
    }

    sealed class TopicSubscription(InProcessQueueTransport transport, Subscriber s) : IQueueSubscription
    {
        public string QueueName { get; } = "inproc.topic." + s.Pattern;
        public IAsyncEnumerable<QueueMessage> ReadAllAsync(CancellationToken ct) => s.Channel.Reader.ReadAllAsync(ct);

        public ValueTask DisposeAsync()
        {
            lock (transport._subscribers) transport._subscribers.Remove(s);
            s.Channel.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }

    sealed class QueueReader(InProcessQueueTransport transport, InProcessQueue queue, bool deleteOnDispose) : IQueueSubscription
    {
        readonly CancellationTokenSource _closed = new();
        public string QueueName => queue.Name;

        public async IAsyncEnumerable<QueueMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken ct)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, _closed.Token);
            while (!both.IsCancellationRequested)
            {
                if (queue.TryTake() is { } m) { yield return m; continue; }
                try { await queue.WaitAsync(both.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (_closed.IsCancellationRequested) { yield break; }
            }
            ct.ThrowIfCancellationRequested();
        }

        public ValueTask DisposeAsync()
        {
            _closed.Cancel();
            if (deleteOnDispose) transport._queues.TryRemove(queue.Name, out _);
            return ValueTask.CompletedTask;
        }
    }
}
