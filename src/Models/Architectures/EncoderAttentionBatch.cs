using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// How a flat batch of sequences is padded for bidirectional attention, built once per forward and shared by all
/// layers. Sequences are sorted by length and cut into groups whose padded score tensors stay under a size budget;
/// each group gathers its rows into [B, Lmax] (padding repeats row 0 and is masked out with -inf).
/// </summary>
public sealed class EncoderAttentionBatch : IDisposable
{
    /// <summary>Budget for one group's B x Lmax x Lmax attention scores per head.</summary>
    public const long MaxScoreElementsPerHead = 1L << 22;

    public sealed class Group : IDisposable
    {
        public required int BatchSize { get; init; }
        public required int MaxLen { get; init; }
        public required Tensor Gather { get; init; }       // [B * Lmax] flat-batch rows (padding: 0)
        public required Tensor Mask { get; init; }         // [B, 1, 1, Lmax] additive 0 / -inf
        public required Tensor ValidPadded { get; init; }  // [n] positions in B * Lmax that hold real tokens
        public required Tensor ValidRows { get; init; }    // [n] their flat-batch rows
        public void Dispose() { Gather.Dispose(); Mask.Dispose(); ValidPadded.Dispose(); ValidRows.Dispose(); }
    }

    public IReadOnlyList<Group> Groups { get; }

    EncoderAttentionBatch(IReadOnlyList<Group> groups) => Groups = groups;

    public static EncoderAttentionBatch Build(IReadOnlyList<int> lengths, Device device, ScalarType maskDtype, long maxScoreElementsPerHead = MaxScoreElementsPerHead)
    {
        var starts = new int[lengths.Count];
        for (int i = 1; i < lengths.Count; i++) starts[i] = starts[i - 1] + lengths[i - 1];
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ToList();
        var groups = new List<Group>();
        for (int g = 0; g < order.Count;)
        {
            int maxLen = lengths[order[g]];
            int take = (int)Math.Clamp(maxScoreElementsPerHead / ((long)maxLen * maxLen), 1, order.Count - g);
            var members = order.GetRange(g, take);
            var gather = new long[take * maxLen];
            var mask = new float[take * maxLen];
            var validPadded = new List<long>();
            var validRows = new List<long>();
            for (int b = 0; b < take; b++)
            {
                int s = members[b];
                for (int j = 0; j < maxLen; j++)
                {
                    bool valid = j < lengths[s];
                    gather[b * maxLen + j] = valid ? starts[s] + j : 0;
                    mask[b * maxLen + j] = valid ? 0 : float.NegativeInfinity;
                    if (valid) { validPadded.Add(b * maxLen + j); validRows.Add(starts[s] + j); }
                }
            }
            groups.Add(new Group
            {
                BatchSize = take,
                MaxLen = maxLen,
                Gather = torch.tensor(gather, device: device),
                Mask = torch.tensor(mask, [take, 1, 1, maxLen]).to(maskDtype, device),
                ValidPadded = torch.tensor(validPadded.ToArray(), device: device),
                ValidRows = torch.tensor(validRows.ToArray(), device: device),
            });
            g += take;
        }
        return new EncoderAttentionBatch(groups);
    }

    public void Dispose()
    {
        foreach (var g in Groups) g.Dispose();
    }
}
