using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// What state-space layers need of one step (vLLM's Mamba attention metadata), built once per step by the input batch:
/// each sequence's state slot, whether it continues a state (chunked prefill, decode) or starts from zeros, and a
/// padded [numSeqs, MaxQueryLen] layout of the flat tokens so a scan runs over every sequence at once.
/// </summary>
public sealed class MambaStepInputs
{
    /// <summary>[numSeqs] int64: the state slot of each sequence.</summary>
    public required Tensor StateSlots { get; init; }
    /// <summary>[numSeqs] float (model dtype not assumed: float32): 1 where the sequence has computed tokens before this step.</summary>
    public required Tensor HasInitialState { get; init; }
    /// <summary>[numSeqs] int64: query tokens of each sequence this step.</summary>
    public required Tensor QueryLens { get; init; }
    /// <summary>[numSeqs * MaxQueryLen] int64: flat row of each padded position; padding points at row NumTokens (a zero row).</summary>
    public required Tensor PaddedRows { get; init; }
    /// <summary>[NumTokens] int64: padded position (b * MaxQueryLen + t) of each flat row.</summary>
    public required Tensor FlatPositions { get; init; }
    /// <summary>[numSeqs, MaxQueryLen] float32: 1 on real tokens, 0 on padding.</summary>
    public required Tensor Mask { get; init; }
    public required int MaxQueryLen { get; init; }
    public int NumSeqs => (int)StateSlots.shape[0];
}
