using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Pooling;

/// <summary>
/// Turns a flat batch of hidden states [T, H] (inputs' tokens concatenated) into one output per input, in float32:
/// a vector [H] for CLS / LAST / MEAN, rows [n, H] for ALL / STEP; then the embedding post-processing.
/// </summary>
public static class Pooler
{
    public static Tensor[] Pool(Tensor hidden, IReadOnlyList<int[]> tokenIds, PoolingType type, int? stepTagId = null, int[]? returnedTokenIds = null)
    {
        var result = new Tensor[tokenIds.Count];
        long start = 0;
        for (int i = 0; i < tokenIds.Count; i++)
        {
            int len = tokenIds[i].Length;
            if (len == 0) throw new PoolingException($"input {i} is empty");
            using var scope = NewDisposeScope();
            var rows = hidden.narrow(0, start, len).to_type(ScalarType.Float32);
            Tensor pooled = type switch
            {
                PoolingType.CLS => rows[0],
                PoolingType.LAST => rows[len - 1],
                PoolingType.MEAN => rows.mean([0L]),
                PoolingType.ALL => rows,
                PoolingType.STEP => Step(rows, tokenIds[i], stepTagId, returnedTokenIds),
                _ => throw new PoolingException($"unknown pooling type {type}"),
            };
            result[i] = pooled.contiguous().MoveToOuterDisposeScope();
            start += len;
        }
        return result;
    }

    static Tensor Step(Tensor rows, int[] ids, int? stepTagId, int[]? returnedTokenIds)
    {
        if (returnedTokenIds is { Length: > 0 })
            rows = rows.index_select(1, torch.tensor(returnedTokenIds.Select(x => (long)x).ToArray(), device: rows.device));
        if (stepTagId is int tag)
        {
            var keep = Enumerable.Range(0, ids.Length).Where(j => ids[j] == tag).Select(j => (long)j).ToArray();
            rows = rows.index_select(0, torch.tensor(keep, ScalarType.Int64, rows.device));
        }
        return rows;
    }

    /// <summary>Embedding post-processing: Matryoshka truncation to <paramref name="dimensions"/>, then L2 normalization.</summary>
    public static Tensor PostProcess(Tensor pooled, int? dimensions, bool normalize)
    {
        using var scope = NewDisposeScope();
        var x = pooled;
        if (dimensions is int d) x = x.narrow(-1, 0, d);
        if (normalize) x = nn.functional.normalize(x, p: 2, dim: -1);
        return x.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The classify/score activation: softmax over labels, sigmoid for a single-label head.</summary>
    public static Tensor Activate(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var y = logits.shape[^1] == 1 ? torch.sigmoid(logits) : torch.softmax(logits, -1);
        return y.MoveToOuterDisposeScope();
    }
}
