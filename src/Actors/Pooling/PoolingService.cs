using System.Threading.Channels;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;

namespace Pipeline.Actors.Pooling;

/// <summary>
/// Serves pooling requests (embed, classify) from many callers on one device thread: requests queue in a bounded
/// channel, and each step takes waiting requests of the same kind and parameters up to a token budget
/// (max_num_batched_tokens) into one forward. No KV cache is involved.
/// </summary>
public sealed class PoolingService : IAsyncDisposable
{
    sealed record Job(PoolingTask Task, PoolingInput Input, PoolingParams Params, TaskCompletionSource<float[]> Done, CancellationToken Ct)
    {
        public int Tokens => Input.TokenIds.Length;
    }

    readonly PoolingRunner _runner;
    readonly int _maxBatchedTokens;
    readonly Channel<Job> _queue;
    readonly Thread _worker;
    readonly CancellationTokenSource _stop = new();
    public long Steps { get; private set; }

    public PoolingService(PoolingRunner runner, int maxBatchedTokens = 8192, int capacity = 1024)
    {
        _runner = runner;
        _maxBatchedTokens = Math.Max(1, maxBatchedTokens);
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _worker = new Thread(Loop) { IsBackground = true, Name = "pooling-worker" };
        _worker.Start();
    }

    public PoolingRunner Runner => _runner;

    /// <summary>Embed or classify one input; for Score the input is a joined pair (with token type ids) and one value comes back.</summary>
    public Task<float[]> RunAsync(PoolingTask task, int[] ids, PoolingParams p, CancellationToken ct = default) =>
        RunAsync(task, new PoolingInput(ids), p, ct);

    public async Task<float[]> RunAsync(PoolingTask task, PoolingInput input, PoolingParams p, CancellationToken ct = default)
    {
        var done = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync(new Job(task, input, p, done, ct), ct).ConfigureAwait(false);
        return await done.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    void Loop()
    {
        var reader = _queue.Reader;
        Job? carried = null;
        while (!_stop.IsCancellationRequested)
        {
            Job first;
            if (carried != null) { first = carried; carried = null; }
            else
            {
                try { if (!reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult()) return; }
                catch (OperationCanceledException) { return; }
                if (!reader.TryRead(out first!)) continue;
            }
            var batch = new List<Job> { first };
            int tokens = first.Tokens;
            while (reader.TryRead(out var next))
            {
                if (next.Task != first.Task || next.Params != first.Params || tokens + next.Tokens > _maxBatchedTokens) { carried = next; break; }
                batch.Add(next);
                tokens += next.Tokens;
            }
            batch.RemoveAll(j => { if (j.Ct.IsCancellationRequested) { j.Done.TrySetCanceled(j.Ct); return true; } return false; });
            if (batch.Count == 0) continue;
            try
            {
                var inputs = batch.Select(j => j.Input).ToList();
                var results = first.Task switch
                {
                    PoolingTask.Embed => _runner.Embed(inputs.Select(i => i.TokenIds).ToList(), first.Params),
                    PoolingTask.Score => _runner.Score(inputs, first.Params).Select(v => new[] { v }).ToArray(),
                    _ => _runner.Classify(inputs, PoolingTask.Classify, first.Params),
                };
                Steps++;
                for (int i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
            }
            catch (Exception e)
            {
                foreach (var j in batch) j.Done.TrySetException(e);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _stop.Cancel();
        _worker.Join(TimeSpan.FromSeconds(5));
        return ValueTask.CompletedTask;
    }
}
