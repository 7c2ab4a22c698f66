using Pipeline.Actors.Output;

namespace Pipeline.Actors.Stages;

/// <summary>
/// A sink that holds only the newest cumulative output: a slow reader skips intermediate states instead of
/// letting them pile up, so memory per request stays bounded whatever the subscriber's speed.
/// The reader turns cumulative outputs into deltas itself when it wants them.
/// </summary>
public sealed class LatestOutputSink : IReadableOutputSink
{
    readonly object _gate = new();
    readonly SemaphoreSlim _signal = new(0, 1);
    RequestOutput? _latest;
    Exception? _error;
    bool _done;

    public void Write(RequestOutput output)
    {
        lock (_gate)
        {
            if (_done) return;
            _latest = output;
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

    /// <summary>Waits for a newer output than the last one read; null once the final one was read.</summary>
    public async Task<RequestOutput?> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_latest != null)
                {
                    var o = _latest;
                    _latest = null;
                    return o;
                }
                if (_error != null) throw _error;
                if (_done) return null;
            }
            await _signal.WaitAsync(ct).ConfigureAwait(false);
        }
    }
}
