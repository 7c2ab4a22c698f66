using System.Threading.Channels;

namespace Pipeline.Host.Queue;

/// <summary>
/// In-process fan-out of the events this server publishes, for `GET /v1/streams/{request_id}`: a follower gets every
/// event of the request from the start (replayed), then the live ones. Streams of finished requests are kept for the
/// most recent <c>capacity</c> requests, at most <c>maxBytes</c> of events in all; a follower of an id not seen yet
/// waits for it to start.
/// </summary>
public sealed class StreamHub(int capacity = 1024, long maxBytes = 64L << 20)
{
    sealed class Stream
    {
        public readonly List<byte[]> Events = new();
        public readonly List<Channel<byte[]>> Followers = new();
        public long Bytes;
        public bool Done;
    }

    readonly object _gate = new();
    readonly Dictionary<string, Stream> _streams = new();
    readonly Queue<string> _finished = new();
    long _finishedBytes;

    /// <summary>Events of a request finished before this process started (the durable state), for an id the hub does not know.</summary>
    public Func<string, IReadOnlyList<byte[]>?>? Stored { get; set; }

    public void Publish(string requestId, byte[] evt, bool terminal)
    {
        lock (_gate)
        {
            if (!_streams.TryGetValue(requestId, out var s)) _streams[requestId] = s = new Stream();
            if (s.Done) return;
            s.Events.Add(evt);
            s.Bytes += evt.Length;
            foreach (var f in s.Followers)
            {
                f.Writer.TryWrite(evt);
                if (terminal) f.Writer.TryComplete();
            }
            if (!terminal) return;
            s.Done = true;
            s.Followers.Clear();
            _finished.Enqueue(requestId);
            _finishedBytes += s.Bytes;
            while (_finished.Count > capacity || (_finishedBytes > maxBytes && _finished.Count > 1))
                if (_streams.Remove(_finished.Dequeue(), out var evicted)) _finishedBytes -= evicted.Bytes;
        }
    }

    /// <summary>Every event of the request, replayed then live, ending after its final or error event.</summary>
    public async IAsyncEnumerable<byte[]> Follow(string requestId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            Stream? s = _streams.GetValueOrDefault(requestId);
            if (s == null && Stored?.Invoke(requestId) is { Count: > 0 } stored)
            {
                foreach (var e in stored) channel.Writer.TryWrite(e);
                channel.Writer.TryComplete();
            }
            else if (s == null) _streams[requestId] = s = new Stream();
            if (s != null)
            {
                foreach (var e in s.Events) channel.Writer.TryWrite(e);
                if (s.Done) channel.Writer.TryComplete();
                else s.Followers.Add(channel);
            }
        }
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(ct).ConfigureAwait(false)) yield return e;
        }
        finally
        {
            lock (_gate)
            {
                if (_streams.TryGetValue(requestId, out var s) && !s.Done)
                {
                    s.Followers.Remove(channel);
                    // A follower that gave up on an id that never started leaves nothing behind.
                    if (s.Events.Count == 0 && s.Followers.Count == 0) _streams.Remove(requestId);
                }
            }
        }
    }
}
