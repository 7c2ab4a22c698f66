using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// One step's flat batch as the model sees it: the per-sequence layout (host side) and the device tensors the
/// persistent input batch holds for it (views that stay valid until the next step is prepared).
/// </summary>
public sealed class StepBatch
{
    public required IReadOnlyList<SequenceSlice> Seqs { get; init; }
    public required int BlockSize { get; init; }
    /// <summary>[T] int64.</summary>
    public required Tensor InputIds { get; init; }
    /// <summary>[T] int64.</summary>
    public required Tensor Positions { get; init; }
    /// <summary>[3, T] int64 temporal/height/width positions for M-RoPE models (Qwen2-VL); null for the others.</summary>
    public Tensor? MRopePositions { get; init; }
    /// <summary>[T] int64: where each token's K/V go (block id * block size + offset).</summary>
    public required Tensor SlotMapping { get; init; }
    /// <summary>[numSeqs, maxBlocksPerSeq] int32, padded; null unless the backend asked for it.</summary>
    public Tensor? BlockTable { get; init; }
    /// <summary>[numSeqs] int32 KV lengths after this step; null unless the backend asked for it.</summary>
    public Tensor? SeqLens { get; init; }
    /// <summary>[numSeqs + 1] int32 offsets of each sequence's queries; null unless the backend asked for it.</summary>
    public Tensor? QueryStartLoc { get; init; }
    /// <summary>Per-sequence state slots and the padded layout state-space layers scan in; null for models without them.</summary>
    public MambaStepInputs? Mamba { get; init; }
    public int NumTokens => (int)InputIds.shape[0];
    public int MaxSeqLen => Seqs.Count == 0 ? 0 : Seqs.Max(s => s.SeqLen);
    public int MaxQueryLen => Seqs.Count == 0 ? 0 : Seqs.Max(s => s.QueryLen);
}
