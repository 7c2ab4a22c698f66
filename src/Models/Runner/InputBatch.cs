using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Runner;

/// <summary>
/// The persistent per-step inputs of one device (vLLM's input batch): token ids, positions, slot mapping and, for
/// backends that read the cache through block tables, a padded block table, sequence lengths and query offsets.
/// Buffers live across steps and are updated in place (grown when a step needs more), so shapes a CUDA graph
/// captured stay valid; a step's tensors are views into them.
/// </summary>
public sealed class InputBatch : IDisposable
{
    readonly Device _device;
    readonly bool _withBlockTable;
    readonly bool _withState;
    readonly bool _withMRope;
    long[] _mrope = [];
    Tensor? _mropeT;
    long[] _ids = [], _positions = [], _slots = [];
    int[] _blockTable = [], _seqLens = [], _queryStart = [];
    Tensor? _idsT, _positionsT, _slotsT, _blockTableT, _seqLensT, _queryStartT;
    int _maxBlocks;
    long[] _stateSlots = [], _queryLens = [], _paddedRows = [], _flatPositions = [];
    float[] _hasInitial = [], _mask = [];
    Tensor? _stateSlotsT, _queryLensT, _paddedRowsT, _flatPositionsT, _hasInitialT, _maskT;

    /// <param name="withState">Also lay out the step for state-space layers (<see cref="StepBatch.Mamba"/>).</param>
    /// <param name="withMRope">Also fill 3 x T M-RoPE positions (<see cref="StepBatch.MRopePositions"/>).</param>
    public InputBatch(int blockSize, Device device, bool withBlockTable, bool withState = false, bool withMRope = false)
    {
        _withMRope = withMRope;
        BlockSize = blockSize;
        _device = device;
        _withBlockTable = withBlockTable;
        _withState = withState;
    }

    public int BlockSize { get; }

    /// <summary>Fills the buffers for one step; <paramref name="tokens"/> are the step's input ids in flat order.</summary>
    public StepBatch Prepare(IReadOnlyList<SequenceSlice> seqs, IReadOnlyList<long> tokens)
    {
        int total = tokens.Count;
        Grow(ref _ids, ref _idsT, total, ScalarType.Int64);
        Grow(ref _positions, ref _positionsT, total, ScalarType.Int64);
        Grow(ref _slots, ref _slotsT, total, ScalarType.Int64);
        for (int i = 0; i < total; i++) _ids[i] = tokens[i];
        foreach (var s in seqs)
        {
            int start = s.Start;
            for (int i = 0; i < s.QueryLen; i++)
            {
                int pos = start + i, row = s.QueryStart + i;
                _positions[row] = pos;
                // A model of state-space layers only holds no blocks.
                _slots[row] = s.BlockTable.Length == 0 ? -1 : TorchAttentionMetadata.Slot(s.BlockTable, pos, BlockSize);
            }
        }
        var batch = new StepBatch
        {
            Seqs = seqs,
            BlockSize = BlockSize,
            InputIds = Upload(_ids, _idsT!, total),
            Positions = Upload(_positions, _positionsT!, total),
            SlotMapping = Upload(_slots, _slotsT!, total),
            Mamba = _withState ? PrepareState(seqs, total) : null,
            MRopePositions = _withMRope ? PrepareMRope(seqs, total) : null,
        };
        if (!_withBlockTable) return batch;
        int n = seqs.Count, maxBlocks = Math.Max(1, seqs.Count == 0 ? 1 : seqs.Max(s => s.BlockTable.Length));
        if (maxBlocks > _maxBlocks) { _maxBlocks = maxBlocks; _blockTable = []; _blockTableT?.Dispose(); _blockTableT = null; }
        Grow(ref _blockTable, ref _blockTableT, n * _maxBlocks, ScalarType.Int32);
        Grow(ref _seqLens, ref _seqLensT, n, ScalarType.Int32);
        Grow(ref _queryStart, ref _queryStartT, n + 1, ScalarType.Int32);
        Array.Clear(_blockTable, 0, n * _maxBlocks);
        for (int b = 0; b < n; b++)
        {
            var s = seqs[b];
            Array.Copy(s.BlockTable, 0, _blockTable, b * _maxBlocks, s.BlockTable.Length);
            _seqLens[b] = s.SeqLen;
            _queryStart[b] = s.QueryStart;
        }
        _queryStart[n] = total;
        return new StepBatch
        {
            Seqs = batch.Seqs, BlockSize = BlockSize,
            InputIds = batch.InputIds, Positions = batch.Positions, SlotMapping = batch.SlotMapping,
            BlockTable = Upload(_blockTable, _blockTableT!, n * _maxBlocks).view(n, _maxBlocks),
            SeqLens = Upload(_seqLens, _seqLensT!, n),
            QueryStartLoc = Upload(_queryStart, _queryStartT!, n + 1),
            Mamba = batch.Mamba,
            MRopePositions = batch.MRopePositions,
        };
    }

    /// <summary>Rows temporal, height, width of [3, T]: the request's prompt positions, then p + delta (vLLM's _calc_mrope_positions).</summary>
    Tensor PrepareMRope(IReadOnlyList<SequenceSlice> seqs, int total)
    {
        Grow(ref _mrope, ref _mropeT, 3 * total, ScalarType.Int64);
        foreach (var s in seqs)
            for (int i = 0; i < s.QueryLen; i++)
            {
                int pos = s.Start + i, row = s.QueryStart + i;
                var (t, h, w) = s.MRope?.At(pos) ?? (pos, pos, pos);
                _mrope[row] = t;
                _mrope[total + row] = h;
                _mrope[2 * total + row] = w;
            }
        return Upload(_mrope, _mropeT!, 3 * total).view(3, total);
    }

    MambaStepInputs PrepareState(IReadOnlyList<SequenceSlice> seqs, int total)
    {
        int n = seqs.Count, maxQ = Math.Max(1, n == 0 ? 1 : seqs.Max(s => s.QueryLen));
        Grow(ref _stateSlots, ref _stateSlotsT, n, ScalarType.Int64);
        Grow(ref _queryLens, ref _queryLensT, n, ScalarType.Int64);
        Grow(ref _hasInitial, ref _hasInitialT, n, ScalarType.Float32);
        Grow(ref _paddedRows, ref _paddedRowsT, n * maxQ, ScalarType.Int64);
        Grow(ref _mask, ref _maskT, n * maxQ, ScalarType.Float32);
        Grow(ref _flatPositions, ref _flatPositionsT, total, ScalarType.Int64);
        Array.Fill(_paddedRows, total, 0, n * maxQ);
        Array.Clear(_mask, 0, n * maxQ);
        for (int b = 0; b < n; b++)
        {
            var s = seqs[b];
            if (s.StateSlot < 0) throw new InvalidOperationException($"sequence {b} of the step holds no state slot, which state-space layers need");
            _stateSlots[b] = s.StateSlot;
            _queryLens[b] = s.QueryLen;
            _hasInitial[b] = s.Start > 0 ? 1f : 0f;
            for (int t = 0; t < s.QueryLen; t++)
            {
                _paddedRows[b * maxQ + t] = s.QueryStart + t;
                _mask[b * maxQ + t] = 1f;
                _flatPositions[s.QueryStart + t] = b * maxQ + t;
            }
        }
        return new MambaStepInputs
        {
            StateSlots = Upload(_stateSlots, _stateSlotsT!, n),
            QueryLens = Upload(_queryLens, _queryLensT!, n),
            HasInitialState = Upload(_hasInitial, _hasInitialT!, n),
            PaddedRows = Upload(_paddedRows, _paddedRowsT!, n * maxQ),
            Mask = Upload(_mask, _maskT!, n * maxQ).view(n, maxQ),
            FlatPositions = Upload(_flatPositions, _flatPositionsT!, total),
            MaxQueryLen = maxQ,
        };
    }

    void Grow<T>(ref T[] host, ref Tensor? device, int needed, ScalarType type) where T : unmanaged
    {
        if (host.Length >= needed && device is not null) return;
        int size = Math.Max(16, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(needed, 1)));
        host = new T[size];
        device?.Dispose();
        device = torch.empty(size, type, _device).DetachFromDisposeScope();
    }

    static Tensor Upload<T>(T[] host, Tensor device, int count) where T : unmanaged
    {
        var view = device.narrow(0, 0, count);
        if (count == 0) return view;
        // On CPU the buffer is the host memory: write the prefix through the whole tensor's byte span.
        if (device.device_type == DeviceType.CPU)
        {
            host.AsSpan(0, count).CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(device.bytes));
            return view;
        }
        using var staged = torch.empty(count, device.dtype, CPU);
        staged.data<T>().CopyFrom(host.AsSpan(0, count), 0);
        view.copy_(staged);
        return view;
    }

    public void Dispose()
    {
        foreach (var t in new[] { _idsT, _positionsT, _slotsT, _blockTableT, _seqLensT, _queryStartT,
            _stateSlotsT, _queryLensT, _paddedRowsT, _flatPositionsT, _hasInitialT, _maskT, _mropeT }) t?.Dispose();
    }
}
