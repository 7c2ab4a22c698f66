using Pipeline.Models.Architectures;

namespace Pipeline.Models.Forward;

/// <summary>
/// A step's cross-attention inputs: for each sequence of the flat batch, in order, its query rows and the encoder
/// cache of its request. Every row of the step belongs to one slice.
/// </summary>
public sealed record CrossAttentionBatch(IReadOnlyList<CrossAttentionSlice> Slices);

public readonly record struct CrossAttentionSlice(int QueryStart, int QueryLen, CrossAttentionCache Encoder);
