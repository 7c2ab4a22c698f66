using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// The eager backend's per-step data: sequences computing one token are batched into a decode group; each
/// sequence computing several (prefill or prefill chunk) is attended on its own. Masks are additive (0 / -inf),
/// built on the host, one for full attention and one per sliding window the model uses. A query inside one of its
/// sequence's bidirectional ranges also sees the later keys of that range (transformers' blockwise overlay, OR-ed with
/// causal before the sliding window is AND-ed on).
/// </summary>
public sealed class TorchAttentionMetadata(StepBatch batch) : AttentionMetadata(batch)
{
    public DecodeGroup? Decode { get; init; }
    public IReadOnlyList<PrefillSeq> Prefills { get; init; } = [];

    /// <summary>Masks by sliding window; key 0 is full attention.</summary>
    public sealed class MaskSet : IDisposable
    {
        public Dictionary<int, Tensor> ByWindow { get; } = new();
        public Tensor For(int? window) => ByWindow[window ?? 0];
        public void Dispose() { foreach (var m in ByWindow.Values) m.Dispose(); }
    }

    public sealed class DecodeGroup : IDisposable
    {
        public required Tensor TokenIndices { get; init; }   // [B] rows of the flat batch
        public required Tensor Slots { get; init; }          // [B * Lmax] cache slots (padding points at slot 0)
        public required int MaxLen { get; init; }
        public required MaskSet Masks { get; init; }         // [B, 1, 1, Lmax] each
        public void Dispose() { TokenIndices.Dispose(); Slots.Dispose(); Masks.Dispose(); }
    }

    public sealed class PrefillSeq : IDisposable
    {
        public required int QueryStart { get; init; }
        public required int QueryLen { get; init; }
        public required Tensor Slots { get; init; }          // [L] cache slots of the whole sequence so far
        public required MaskSet Masks { get; init; }         // [1, 1, Q, L] each
        public void Dispose() { Slots.Dispose(); Masks.Dispose(); }
    }

    public override void Dispose()
    {
        Decode?.Dispose();
        foreach (var p in Prefills) p.Dispose();
    }

    public static TorchAttentionMetadata Build(StepBatch batch, IReadOnlyList<int> windows, ScalarType maskDtype)
    {
        var seqs = batch.Seqs;
        var device = batch.InputIds.device;
        int blockSize = batch.BlockSize;
        var decodes = seqs.Where(s => s.QueryLen == 1).ToList();
        DecodeGroup? decode = null;
        if (decodes.Count > 0)
        {
            int maxLen = decodes.Max(s => s.SeqLen);
            var slots = new long[decodes.Count * maxLen];
            for (int b = 0; b < decodes.Count; b++)
                for (int j = 0; j < maxLen; j++)
                    slots[b * maxLen + j] = j < decodes[b].SeqLen ? Slot(decodes[b].BlockTable, j, blockSize) : 0;
            decode = new DecodeGroup
            {
                TokenIndices = torch.tensor(decodes.Select(s => (long)s.QueryStart).ToArray(), device: device),
                Slots = torch.tensor(slots, device: device),
                MaxLen = maxLen,
                Masks = Masks(windows, [decodes.Count, 1, 1, maxLen], maskDtype, device, (w, mask) =>
                {
                    for (int b = 0; b < decodes.Count; b++)
                    {
                        int q = decodes[b].SeqLen - 1;
                        for (int j = 0; j < maxLen; j++)
                            mask[b * maxLen + j] = j < decodes[b].SeqLen && (w == 0 || j > q - w) ? 0 : float.NegativeInfinity;
                    }
                }),
            };
        }
        var prefills = new List<PrefillSeq>();
        foreach (var s in seqs.Where(s => s.QueryLen > 1))
        {
            int L = s.SeqLen, Q = s.QueryLen, start = s.Start;
            var ranges = s.BidirectionalRanges;
            var slots = new long[L];
            for (int j = 0; j < L; j++) slots[j] = Slot(s.BlockTable, j, blockSize);
            prefills.Add(new PrefillSeq
            {
                QueryStart = s.QueryStart, QueryLen = Q,
                Slots = torch.tensor(slots, device: device),
                Masks = Masks(windows, [1, 1, Q, L], maskDtype, device, (w, mask) =>
                {
                    for (int i = 0; i < Q; i++)
                    {
                        int q = start + i, seen = q;
                        if (ranges != null)
                            foreach (var r in ranges)
                                if (r.Contains(q)) seen = Math.Max(seen, Math.Min(r.End, L) - 1);
                        for (int j = 0; j < L; j++)
                            mask[i * L + j] = j <= seen && (w == 0 || j > q - w) ? 0 : float.NegativeInfinity;
                    }
                }),
            });
        }
        return new TorchAttentionMetadata(batch) { Decode = decode, Prefills = prefills };
    }

    static MaskSet Masks(IReadOnlyList<int> windows, long[] shape, ScalarType dtype, Device device, Action<int, float[]> fill)
    {
        var set = new MaskSet();
        long n = shape.Aggregate(1L, (a, b) => a * b);
        foreach (var w in windows.Prepend(0).Distinct())
        {
            var mask = new float[n];
            fill(w, mask);
            set.ByWindow[w] = torch.tensor(mask, shape).to(dtype, device);
        }
        return set;
    }

    internal static long Slot(int[] blockTable, int pos, int blockSize)
    {
        int block = pos / blockSize;
        if (block >= blockTable.Length)
            throw new InvalidOperationException($"position {pos} needs block {block} but the sequence holds {blockTable.Length} blocks");
        return (long)blockTable[block] * blockSize + pos % blockSize;
    }
}
