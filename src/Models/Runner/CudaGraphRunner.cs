using Pipeline.Models.Architectures;
using Pipeline.Models.Forward;
using Pipeline.Models.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Runner;

/// <summary>
/// Decode steps replayed from CUDA graphs (vLLM's CUDA graph capture): the forward and the logits of a batch of
/// decodes is captured once per padded batch size (1, 2, 4, 8, then multiples of 8 up to max_num_seqs), over static
/// input buffers (token ids, positions, slot mapping, a block table, sequence lengths), and again per context bucket
/// (the block-table width the attention kernel splits over: short contexts must not pay for long ones). A step copies
/// its inputs into the buffers, pads the rest (padding rows write to the cache's scratch slot and attend to nothing)
/// and replays the smallest graph that fits. Steps it does not support run eagerly.
/// </summary>
public sealed class CudaGraphRunner : IDisposable
{
    readonly ICausalLM _model;
    readonly Cache.KVCache _cache;
    readonly IAttentionBackend _backend;
    readonly int[] _sizes;
    readonly int _maxBlocks;
    readonly int[] _widths;
    readonly Tensor _ids, _positions, _slots, _blockTable, _seqLens, _queryStart, _logits;
    readonly long[] _hostLong;
    readonly int[] _hostInt;
    readonly Tensor _stagingLong, _stagingInt;
    readonly Dictionary<(int Size, int Width), CudaGraph> _graphs = new();

    public CudaGraphRunner(ICausalLM model, Cache.KVCache cache, IAttentionBackend backend, int maxNumSeqs, int maxContext)
    {
        _model = model;
        _cache = cache;
        _backend = backend;
        _sizes = CaptureSizes(maxNumSeqs);
        int max = _sizes[^1];
        _maxBlocks = Math.Max(1, (maxContext + cache.BlockSize - 1) / cache.BlockSize);
        _widths = new[] { 1024, 4096 }.Select(c => (c + cache.BlockSize - 1) / cache.BlockSize).Where(w => w < _maxBlocks).Append(_maxBlocks).ToArray();
        var dev = model.Device;
        using (var _ = NewDisposeScope())
        {
            _ids = torch.zeros(max, ScalarType.Int64, dev).DetachFromDisposeScope();
            _positions = torch.zeros(max, ScalarType.Int64, dev).DetachFromDisposeScope();
            _slots = torch.full(max, cache.ScratchSlot, ScalarType.Int64, dev).DetachFromDisposeScope();
            _blockTable = torch.zeros([max, _maxBlocks], ScalarType.Int32, dev).DetachFromDisposeScope();
            _seqLens = torch.zeros(max, ScalarType.Int32, dev).DetachFromDisposeScope();
            _queryStart = torch.arange(max + 1, ScalarType.Int32, dev).DetachFromDisposeScope();
            _logits = torch.zeros([max, model.Config.VocabSize], ScalarType.Float32, dev).DetachFromDisposeScope();
            _hostLong = new long[3 * max];
            _hostInt = new int[max * _maxBlocks + max];
            _stagingLong = torch.zeros(_hostLong.Length, ScalarType.Int64).pin_memory().DetachFromDisposeScope();
            _stagingInt = torch.zeros(_hostInt.Length, ScalarType.Int32).pin_memory().DetachFromDisposeScope();
        }
    }

    /// <summary>The longest sequence a replayed step may hold (longer ones run eagerly).</summary>
    public int MaxContext => _maxBlocks * _cache.BlockSize;
    public IReadOnlyList<int> Sizes => _sizes;
    public TimeSpan CaptureTime { get; private set; }
    public long Replays { get; private set; }

    /// <summary>1, 2, 4, 8 and multiples of 8 up to <paramref name="maxNumSeqs"/> (itself included).</summary>
    public static int[] CaptureSizes(int maxNumSeqs)
    {
        var sizes = new SortedSet<int>();
        foreach (var s in new[] { 1, 2, 4, 8 }) if (s <= maxNumSeqs) sizes.Add(s);
        for (int s = 16; s <= maxNumSeqs; s += 8) sizes.Add(s);
        sizes.Add(Math.Max(1, maxNumSeqs));
        return sizes.ToArray();
    }

    /// <summary>Whether <paramref name="seqs"/> (one new token each, none longer than <see cref="MaxContext"/>) can replay.</summary>
    public bool Supports(IReadOnlyList<SequenceSlice> seqs)
    {
        if (seqs.Count == 0 || seqs.Count > _sizes[^1]) return false;
        foreach (var s in seqs) if (s.QueryLen != 1 || s.BlockTable.Length > _maxBlocks) return false;
        return true;
    }

    /// <summary>Captures every size, the largest first, so the smaller graphs reuse its pool memory.</summary>
    public void CaptureAll()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var noGrad = torch.no_grad();
        foreach (var width in _widths.Reverse())
            foreach (var size in _sizes.Reverse())
            {
                var graph = new CudaGraph();
                graph.Capture(() => ForwardPadded(size, width));
                _graphs[(size, width)] = graph;
            }
        NativeOps.CudaSynchronize();
        CaptureTime = sw.Elapsed;
    }

    void ForwardPadded(int size, int width)
    {
        using var scope = NewDisposeScope();
        var seqs = new SequenceSlice[size];
        for (int i = 0; i < size; i++) seqs[i] = new SequenceSlice(i, 1, 1, []);
        var batch = new StepBatch
        {
            Seqs = seqs,
            BlockSize = _cache.BlockSize,
            InputIds = _ids.narrow(0, 0, size),
            Positions = _positions.narrow(0, 0, size),
            SlotMapping = _slots.narrow(0, 0, size),
            BlockTable = _blockTable.narrow(0, 0, size).narrow(1, 0, width),
            SeqLens = _seqLens.narrow(0, 0, size),
            QueryStartLoc = _queryStart.narrow(0, 0, size + 1),
        };
        using var meta = _backend.BuildMetadata(batch, _cache.Config);
        var hidden = _model.Forward(batch.InputIds, null, new ForwardContext(_backend, meta, _cache));
        _logits.narrow(0, 0, size).copy_(_model.ComputeLogits(hidden));
    }

    /// <summary>Replays the step's graph; returns float32 logits [seqs.Count, vocab] (a view valid until the next step).</summary>
    public Tensor Run(IReadOnlyList<SequenceSlice> seqs, IReadOnlyList<long> tokens)
    {
        int n = seqs.Count, size = _sizes.First(s => s >= n), max = _sizes[^1];
        int longest = 0;
        foreach (var s in seqs) longest = Math.Max(longest, s.BlockTable.Length);
        int width = _widths.First(w => w >= longest);
        Array.Clear(_hostInt, 0, size * _maxBlocks);
        for (int i = 0; i < size; i++)
        {
            bool real = i < n;
            var s = real ? seqs[i] : default;
            int pos = real ? s.SeqLen - 1 : 0;
            _hostLong[i] = real ? tokens[s.QueryStart] : 0;
            _hostLong[max + i] = pos;
            _hostLong[2 * max + i] = real ? (long)s.BlockTable[pos / _cache.BlockSize] * _cache.BlockSize + pos % _cache.BlockSize : _cache.ScratchSlot;
            if (real) Array.Copy(s.BlockTable, 0, _hostInt, i * _maxBlocks, s.BlockTable.Length);
            _hostInt[max * _maxBlocks + i] = real ? s.SeqLen : 0;
        }
        _stagingLong.data<long>().CopyFrom(_hostLong.AsSpan(), 0);
        _stagingInt.data<int>().CopyFrom(_hostInt.AsSpan(0, size * _maxBlocks), 0);
        _stagingInt.data<int>().CopyFrom(_hostInt.AsSpan(max * _maxBlocks, size), 0, max * _maxBlocks);
        using (var _ = NewDisposeScope())
        {
            _ids.narrow(0, 0, size).copy_(_stagingLong.narrow(0, 0, size), true);
            _positions.narrow(0, 0, size).copy_(_stagingLong.narrow(0, max, size), true);
            _slots.narrow(0, 0, size).copy_(_stagingLong.narrow(0, 2 * max, size), true);
            _blockTable.narrow(0, 0, size).copy_(_stagingInt.narrow(0, 0, size * _maxBlocks).view(size, _maxBlocks), true);
            _seqLens.narrow(0, 0, size).copy_(_stagingInt.narrow(0, max * _maxBlocks, size), true);
        }
        _graphs[(size, width)].Replay();
        Replays++;
        return _logits.narrow(0, 0, n);
    }

    public void Dispose()
    {
        foreach (var g in _graphs.Values) g.Dispose();
        _graphs.Clear();
        foreach (var t in new[] { _ids, _positions, _slots, _blockTable, _seqLens, _queryStart, _logits, _stagingLong, _stagingInt }) t.Dispose();
    }
}
