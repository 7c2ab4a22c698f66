using System.Collections.Concurrent;
using System.Threading.Channels;
using Pipeline.Actors.Engine;
using Pipeline.Models.Pooling;

namespace Pipeline.Actors.Pooling;

/// <summary>
/// Serves a <see cref="PoolingEngine"/> to many callers from one device thread: submissions queue in a bounded
/// channel; the thread adds them to the engine and steps it while it has work, so whatever arrived while a step ran
/// is batched into the next one by the scheduler's token budget. A cancelled caller's request is aborted.
/// </summary>
public sealed class AsyncPoolingEngine : IAsyncDisposable
{
    sealed record Submission(PoolingItem Item, TaskCompletionSource<float[][]> Done, CancellationToken Ct);

    readonly PoolingEngine _engine;
    readonly Channel<Submission> _submissions;
    readonly ConcurrentQueue<string> _aborts = new();
    readonly Dictionary<string, (Submission Submission, CancellationTokenRegistration Abort)> _inEngine = new();
    readonly Thread _thread;
    readonly CancellationTokenSource _stop = new();
    long _steps;

    public AsyncPoolingEngine(PoolingEngine engine, int capacity = 1024)
    {
        _engine = engine;
        _submissions = Channel.CreateBounded<Submission>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _thread = new Thread(Loop) { IsBackground = true, Name = "pooling-engine" };
        _thread.Start();
    }

    public PoolingRunner Runner => _engine.Runner;
    /// <summary>Engine steps run so far (each one forward over a batch).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>The rows of one request (see <see cref="PoolingRunner.Run"/>); a bad request fails with <see cref="PoolingException"/>.</summary>
    public async Task<float[][]> EncodeAsync(PoolingItem item, CancellationToken ct = default)
    {
        _engine.Runner.Check(item);
        var done = new TaskCompletionSource<float[][]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _submissions.Writer.WriteAsync(new Submission(item, done, ct), ct).ConfigureAwait(false);
        return await done.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    void Loop()
    {
        var reader = _submissions.Reader;
        var core = _engine.Core;
        while (!_stop.IsCancellationRequested)
        {
            if (!core.HasUnfinishedRequests)
            {
                try { if (!reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult()) return; }
                catch (OperationCanceledException) { return; }
            }
            while (reader.TryRead(out var s)) Admit(s);
            AbortCancelled();
            if (!core.HasUnfinishedRequests) continue;
            try
            {
                var outputs = _engine.Step();
                Interlocked.Increment(ref _steps);
                foreach (var o in outputs)
                    if (Take(o.RequestId) is { } s)
                    {
                        if (o.PoolingOutput is { } rows) s.Done.TrySetResult(rows);
                        else s.Done.TrySetException(new PoolingException($"request {o.RequestId} failed"));
                    }
            }
            catch (Exception e)
            {
                // The step's requests are the running ones (pooling requests never outlive their step): fail those only.
                var ids = core.Scheduler.RunningRequests.Select(r => r.RequestId).ToList();
                core.Finish(ids, RequestStatus.FinishedError);
                foreach (var id in ids) Take(id)?.Done.TrySetException(e);
            }
        }
    }

    void Admit(Submission s)
    {
        if (s.Ct.IsCancellationRequested) { s.Done.TrySetCanceled(s.Ct); return; }
        try
        {
            var id = _engine.AddRequest(s.Item);
            _inEngine[id] = (s, s.Ct.Register(() => _aborts.Enqueue(id)));
        }
        catch (PoolingException e) { s.Done.TrySetException(e); }
    }

    void AbortCancelled()
    {
        var ids = new List<string>();
        while (_aborts.TryDequeue(out var id))
            if (Take(id) is { } s) { ids.Add(id); s.Done.TrySetCanceled(s.Ct); }
        if (ids.Count > 0) _engine.Core.Abort(ids);
    }

    Submission? Take(string id)
    {
        if (!_inEngine.Remove(id, out var entry)) return null;
        entry.Abort.Dispose();
        return entry.Submission;
    }

    public ValueTask DisposeAsync()
    {
        _submissions.Writer.TryComplete();
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(5));
        foreach (var (s, _) in _inEngine.Values) s.Done.TrySetCanceled();
        return ValueTask.CompletedTask;
    }
}
