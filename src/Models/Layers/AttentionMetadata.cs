using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// One sequence's part of a flat batch: its query tokens [QueryStart, QueryStart+QueryLen), its KV length after
/// this step, and its prompt length (dynamic rope scaling uses it to compute what transformers computes).
/// </summary>
public readonly record struct SequenceSlice(int QueryStart, int QueryLen, int SeqLen, int[] BlockTable, int NumPromptTokens = 0);

/// <summary>
/// Everything attention needs for one forward over a flat batch of tokens from several sequences, built once
/// per step and shared by all layers: where each new token's K/V go in the paged cache (slot mapping),
/// and, per sequence group, which cache slots to read and which (query, key) pairs may attend.
/// </summary>
public sealed class AttentionMetadata : IDisposable
{
    public required IReadOnlyList<SequenceSlice> Seqs { get; init; }
    public required Tensor Positions { get; init; }
    public required Tensor SlotMapping { get; init; }
    /// <summary>Sequences computing exactly one token, batched together.</summary>
    public DecodeGroup? Decode { get; init; }
    /// <summary>Sequences computing several tokens (prefill or prefill chunk), one at a time.</summary>
    public IReadOnlyList<PrefillSeq> Prefills { get; init; } = [];

    public sealed class DecodeGroup : IDisposable
    {
        public required Tensor TokenIndices { get; init; }   // [B] rows of the flat batch
        public required Tensor Slots { get; init; }          // [B * Lmax] cache slots (padding points at slot 0)
        public required int MaxLen { get; init; }
        public required Tensor Mask { get; init; }           // [B, 1, 1, Lmax] additive (0 / -inf), full attention
        public Tensor? SlidingMask { get; init; }            // same with the sliding window applied
        public void Dispose() { TokenIndices.Dispose(); Slots.Dispose(); Mask.Dispose(); SlidingMask?.Dispose(); }
    }

    public sealed class PrefillSeq : IDisposable
    {
        public required int QueryStart { get; init; }
        public required int QueryLen { get; init; }
        public required Tensor Slots { get; init; }          // [L] cache slots of the whole sequence so far
        public required Tensor Mask { get; init; }           // [1, 1, Q, L] additive causal mask
        public Tensor? SlidingMask { get; init; }
        public void Dispose() { Slots.Dispose(); Mask.Dispose(); SlidingMask?.Dispose(); }
    }

    /// <summary>Builds the metadata on <paramref name="device"/>. Positions of a sequence are SeqLen-QueryLen .. SeqLen-1.</summary>
    public static AttentionMetadata Build(IReadOnlyList<SequenceSlice> seqs, int blockSize, int? slidingWindow, Device device, ScalarType maskDtype)
    {
        int total = seqs.Sum(s => s.QueryLen);
        var positions = new long[total];
        var slotMapping = new long[total];
        foreach (var s in seqs)
        {
            int start = s.SeqLen - s.QueryLen;
            for (int i = 0; i < s.QueryLen; i++)
            {
                int pos = start + i;
                positions[s.QueryStart + i] = pos;
                slotMapping[s.QueryStart + i] = Slot(s.BlockTable, pos, blockSize);
            }
        }
        var decodes = seqs.Where(s => s.QueryLen == 1).ToList();
        DecodeGroup? decode = null;
        if (decodes.Count > 0)
        {
            int maxLen = decodes.Max(s => s.SeqLen);
            var slots = new long[decodes.Count * maxLen];
            var mask = new float[decodes.Count * maxLen];
            var smask = slidingWindow != null ? new float[decodes.Count * maxLen] : null;
            for (int b = 0; b < decodes.Count; b++)
            {
                var s = decodes[b];
                int q = s.SeqLen - 1;
                for (int j = 0; j < maxLen; j++)
                {
                    bool valid = j < s.SeqLen;
                    slots[b * maxLen + j] = valid ? Slot(s.BlockTable, j, blockSize) : 0;
                    mask[b * maxLen + j] = valid ? 0 : float.NegativeInfinity;
                    if (smask != null) smask[b * maxLen + j] = valid && j > q - slidingWindow!.Value ? 0 : float.NegativeInfinity;
                }
            }
            decode = new DecodeGroup
            {
                TokenIndices = torch.tensor(decodes.Select(s => (long)s.QueryStart).ToArray(), device: device),
                Slots = torch.tensor(slots, device: device),
                MaxLen = maxLen,
                Mask = torch.tensor(mask, [decodes.Count, 1, 1, maxLen]).to(maskDtype, device),
                SlidingMask = smask == null ? null : torch.tensor(smask, [decodes.Count, 1, 1, maxLen]).to(maskDtype, device),
            };
        }
        var prefills = new List<PrefillSeq>();
        foreach (var s in seqs.Where(s => s.QueryLen > 1))
        {
            int L = s.SeqLen, Q = s.QueryLen, start = L - Q;
            var slots = new long[L];
            for (int j = 0; j < L; j++) slots[j] = Slot(s.BlockTable, j, blockSize);
            var mask = new float[Q * L];
            var smask = slidingWindow != null ? new float[Q * L] : null;
            for (int i = 0; i < Q; i++)
            for (int j = 0; j < L; j++)
            {
                bool causal = j <= start + i;
                mask[i * L + j] = causal ? 0 : float.NegativeInfinity;
                if (smask != null) smask[i * L + j] = causal && j > start + i - slidingWindow!.Value ? 0 : float.NegativeInfinity;
            }
            prefills.Add(new PrefillSeq
            {
                QueryStart = s.QueryStart, QueryLen = Q,
                Slots = torch.tensor(slots, device: device),
                Mask = torch.tensor(mask, [1, 1, Q, L]).to(maskDtype, device),
                SlidingMask = smask == null ? null : torch.tensor(smask, [1, 1, Q, L]).to(maskDtype, device),
            });
        }
        return new AttentionMetadata
        {
            Seqs = seqs,
            Positions = torch.tensor(positions, device: device),
            SlotMapping = torch.tensor(slotMapping, device: device),
            Decode = decode,
            Prefills = prefills,
        };
    }

    static long Slot(int[] blockTable, int pos, int blockSize)
    {
        int block = pos / blockSize;
        if (block >= blockTable.Length)
            throw new InvalidOperationException($"position {pos} needs block {block} but the sequence holds {blockTable.Length} blocks");
        return (long)blockTable[block] * blockSize + pos % blockSize;
    }

    public void Dispose()
    {
        Positions.Dispose();
        SlotMapping.Dispose();
        Decode?.Dispose();
        foreach (var p in Prefills) p.Dispose();
    }
}
