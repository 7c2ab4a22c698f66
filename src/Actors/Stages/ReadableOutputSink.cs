using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>
/// The locking, signalling and end-of-stream rules that every readable sink shares: writes after the final output or a
/// failure are ignored, the reader gets what was written before a failure, then the failure. Subclasses decide what a
/// write keeps and what one read takes.
/// </summary>
public abstract class ReadableOutputSink : IOutputSink
{
    readonly object _gate = new();
    readonly SemaphoreSlim _signal = new(0, 1);
    Exception? _error;
    bool _done;

    /// <summary>Keeps <paramref name="output"/> for the reader (called under the sink's lock).</summary>
    protected abstract void Keep(RequestOutput output);

    /// <summary>The next output for the reader, if one is kept (called under the sink's lock).</summary>
    protected abstract bool TryTake(out RequestOutput output);

    public void Write(RequestOutput output)
    {
        lock (_gate)
        {
            if (_done) return;
            Keep(output);
            if (output.Finished) _done = true;
        }
        Signal();
    }

    public void Fail(Exception error)
    {
        lock (_gate)
        {
            if (_done) return;
            _error = error;
            _done = true;
        }
        Signal();
    }

    void Signal()
    {
        try { _signal.Release(); } catch (SemaphoreFullException) { }
    }

    /// <summary>Waits for the next output; null once the final one was read.</summary>
    public async Task<RequestOutput?> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            lock (_gate)
            {
                if (TryTake(out var o)) return o;
                if (_error != null) throw _error;
                if (_done) return null;
            }
            await _signal.WaitAsync(ct).ConfigureAwait(false);
        }
    }
}
