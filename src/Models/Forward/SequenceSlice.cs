namespace Pipeline.Models.Forward;

/// <summary>
/// One sequence's part of a flat batch: its query tokens [QueryStart, QueryStart+QueryLen), its KV length after
/// this step, its block table, its prompt length (dynamic rope scaling uses it to compute what transformers computes) and,
/// for models with state-space layers, the state slot it holds (-1 when none), and for M-RoPE models its request's
/// 3-D positions (null: all three are the 1-D position), and the ranges of positions whose tokens attend to each other
/// bidirectionally (null: causal only).
/// </summary>
public readonly record struct SequenceSlice(int QueryStart, int QueryLen, int SeqLen, int[] BlockTable, int NumPromptTokens = 0, int StateSlot = -1,
    MRopePositions? MRope = null, IReadOnlyList<PositionRange>? BidirectionalRanges = null)
{
    /// <summary>Position of the first query token.</summary>
    public int Start => SeqLen - QueryLen;
}
