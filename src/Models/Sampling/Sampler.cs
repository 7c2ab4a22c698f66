using Pipeline.Models.Runner;
using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Sampling;


/// <summary>
/// Chooses one token per row of float32 logits [N, V], in vLLM's order: logits processors and penalties
/// (<see cref="LogitsProcessors"/>); greedy rows then take the argmax; the others apply temperature, min_p,
/// top-k and top-p and draw with the exponential race (argmax of p / E, E ~ Exp(1)), from the row's own
/// generator when seeded. Logprobs are those of the raw logits (vLLM's default), with the sampled token's rank.
/// </summary>
public sealed class Sampler
{
    public (int[] TokenIds, TokenLogprobs?[] Logprobs) Sample(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        using var scope = NewDisposeScope();
        int n = rows.Count;
        long vocab = logits.shape[1];
        var device = logits.device;
        bool allGreedy = rows.All(r => r.Params.IsGreedy);
        var processed = LogitsProcessors.Apply(logits, rows);
        Tensor chosen;
        if (allGreedy) chosen = processed.argmax(-1);
        else
        {
            var temps = torch.tensor(rows.Select(r => r.Params.IsGreedy ? 1.0f : r.Params.Temperature).ToArray(), device: device).unsqueeze(1);
            var scaled = processed / temps;
            scaled = ApplyMinP(scaled, rows, device);
            scaled = ApplyTopKTopP(scaled, rows, vocab, device);
            var probs = torch.softmax(scaled, -1);
            var noise = ExponentialNoise(rows, vocab, device);
            var drawn = (probs / noise).argmax(-1);
            var greedyMask = torch.tensor(rows.Select(r => r.Params.IsGreedy).ToArray(), device: device);
            chosen = torch.where(greedyMask, processed.argmax(-1), drawn);
        }
        var ids = chosen.to(CPU).to_type(ScalarType.Int32).data<int>().ToArray();
        var logprobs = new TokenLogprobs?[n];
        int maxK = rows.Max(r => r.Params.Logprobs is int k ? (k < 0 ? (int)vocab : k) : -1);
        if (maxK >= 0) logprobs = ComputeLogprobs(logits, ids, rows, maxK, vocab);
        return (ids, logprobs);
    }

    /// <summary>Drops tokens whose probability is below min_p times the most likely token's.</summary>
    static Tensor ApplyMinP(Tensor scaled, IReadOnlyList<SamplingRow> rows, Device device)
    {
        if (!rows.Any(r => r.Params.MinP > 0)) return scaled;
        var probs = torch.softmax(scaled, -1);
        var minP = torch.tensor(rows.Select(r => r.Params.MinP).ToArray(), device: device).unsqueeze(1);
        var threshold = probs.amax([-1L], keepdim: true) * minP;
        return scaled.masked_fill(probs < threshold, Scalars.NegInf);
    }

    static Tensor ApplyTopKTopP(Tensor scaled, IReadOnlyList<SamplingRow> rows, long vocab, Device device)
    {
        bool anyTopK = rows.Any(r => r.Params.TopK > 0 && r.Params.TopK < vocab);
        bool anyTopP = rows.Any(r => r.Params.TopP < 1.0f);
        if (!anyTopK && !anyTopP) return scaled;
        var (sorted, order) = scaled.sort(-1, descending: true);
        if (anyTopK)
        {
            var k = torch.tensor(rows.Select(r => (long)(r.Params.TopK > 0 ? Math.Min(r.Params.TopK, vocab) : vocab)).ToArray(), device: device).unsqueeze(1);
            var kth = sorted.gather(1, k.sub(Scalars.OneInt));
            sorted = sorted.masked_fill(sorted < kth, Scalars.NegInf);
        }
        if (anyTopP)
        {
            var p = torch.tensor(rows.Select(r => r.Params.TopP).ToArray(), device: device).unsqueeze(1);
            var probs = torch.softmax(sorted, -1);
            var before = probs.cumsum(-1) - probs; // mass strictly before each token
            var drop = before > p;                // the top token always survives (before = 0)
            sorted = sorted.masked_fill(drop, Scalars.NegInf);
        }
        return torch.full_like(scaled, Scalars.NegInf).scatter(1, order, sorted);
    }

    static readonly Generator SharedCpuGenerator = new Generator((ulong)Environment.TickCount64);

    static Tensor ExponentialNoise(IReadOnlyList<SamplingRow> rows, long vocab, Device device)
    {
        var noise = torch.empty([rows.Count, vocab], ScalarType.Float32, device);
        // Without seeded rows one draw fills the batch (greedy rows' noise is never used): one launch, not one per row.
        if (!rows.Any(r => r.Generator != null && !r.Params.IsGreedy))
            return noise.exponential_(1.0, device.type == DeviceType.CPU ? SharedCpuGenerator : null);
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Params.IsGreedy) { noise[i].fill_(Scalars.One); continue; }
            var gen = rows[i].Generator;
            if (gen == null) noise[i].exponential_(1.0, device.type == DeviceType.CPU ? SharedCpuGenerator : null);
            else
            {
                // Seeded rows draw on the CPU so results do not depend on device or batch composition.
                using var cpu = torch.empty(vocab, ScalarType.Float32).exponential_(1.0, gen);
                noise[i].copy_(cpu);
            }
        }
        return noise;
    }

    static TokenLogprobs?[] ComputeLogprobs(Tensor logits, int[] ids, IReadOnlyList<SamplingRow> rows, int maxK, long vocab)
    {
        var result = new TokenLogprobs?[rows.Count];
        var lp = logits.log_softmax(-1);
        var chosenIdx = torch.tensor(ids.Select(i => (long)i).ToArray(), device: logits.device).unsqueeze(1);
        var chosenLp = lp.gather(1, chosenIdx);
        var ranks = (lp > chosenLp).sum(1).add(Scalars.OneInt).to(CPU).data<long>().ToArray();
        var chosenVals = chosenLp.squeeze(1).to(CPU).data<float>().ToArray();
        float[] topVals = [];
        long[] topIdx = [];
        if (maxK > 0)
        {
            (Tensor v, Tensor ix) = lp.topk(maxK, -1);
            topVals = v.to(CPU).data<float>().ToArray();
            topIdx = ix.to(CPU).data<long>().ToArray();
        }
        for (int r = 0; r < rows.Count; r++)
        {
            if (rows[r].Params.Logprobs is not int k) continue;
            if (k < 0) k = (int)vocab;
            var top = new (int, float)[k];
            for (int j = 0; j < k; j++) top[j] = ((int)topIdx[r * maxK + j], topVals[r * maxK + j]);
            result[r] = new TokenLogprobs(ids[r], chosenVals[r], (int)ranks[r], top);
        }
        return result;
    }
}
