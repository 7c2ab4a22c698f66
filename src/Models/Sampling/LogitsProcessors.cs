using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Sampling;

/// <summary>
/// The per-request logit edits that come before temperature, in vLLM's order: allowed_token_ids, bad_words,
/// min_tokens (stop ids held back), logit_bias (clamped to +-100), then repetition, frequency and presence
/// penalties. Rows that need none of them are left untouched, so a plain batch costs nothing here.
/// </summary>
public static class LogitsProcessors
{
    public static Tensor Apply(Tensor logits, IReadOnlyList<SamplingRow> rows)
    {
        if (!rows.Any(NeedsWork)) return logits;
        var result = logits.clone();
        var device = logits.device;
        long vocab = logits.shape[1];
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            if (!NeedsWork(row)) continue;
            using var scope = NewDisposeScope();
            var sp = row.Params;
            var x = result[r];
            if (sp.AllowedTokenIds is { Count: > 0 } allowed)
            {
                var mask = torch.ones(vocab, ScalarType.Bool, device);
                mask.index_put_(torch.tensor(false, device: device), torch.tensor(allowed.Select(i => (long)i).ToArray(), device: device));
                x.masked_fill_(mask, Scalars.NegInf);
            }
            if (row.BadWordsTokenIds is { Count: > 0 } bad)
            {
                var banned = BannedByBadWords(bad, row.OutputTokenIds ?? []);
                if (banned.Count > 0) x.index_fill_(0, Ids(banned, device), Scalars.NegInf);
            }
            if (row.NumOutputTokens < sp.MinTokens && row.MinTokensStopIds is { Count: > 0 } stops)
                x.index_fill_(0, Ids(stops, device), Scalars.NegInf);
            if (sp.LogitBias is { Count: > 0 } bias)
            {
                var ids = Ids(bias.Keys, device);
                var vals = torch.tensor(bias.Values.Select(v => Math.Clamp(v, -100f, 100f)).ToArray(), device: device);
                x.index_add_(0, ids, vals, Scalars.One);
            }
            ApplyPenalties(x, sp, row, vocab, device);
        }
        return result;
    }

    static bool NeedsWork(SamplingRow row)
    {
        var sp = row.Params;
        return sp.AllowedTokenIds is { Count: > 0 } || row.BadWordsTokenIds is { Count: > 0 }
            || (row.NumOutputTokens < sp.MinTokens && row.MinTokensStopIds is { Count: > 0 })
            || sp.LogitBias is { Count: > 0 } || sp.RepetitionPenalty != 1.0f || sp.FrequencyPenalty != 0 || sp.PresencePenalty != 0;
    }

    static void ApplyPenalties(Tensor x, SamplingParams sp, SamplingRow row, long vocab, Device device)
    {
        var output = row.OutputTokenIds ?? [];
        if (sp.RepetitionPenalty != 1.0f)
        {
            // Tokens seen in the prompt or the output: positive logits divided, negative multiplied.
            var seen = (row.PromptTokenIds ?? []).Concat(output).Distinct().ToArray();
            if (seen.Length > 0)
            {
                var ids = Ids(seen, device);
                var v = x.index_select(0, ids);
                using var penalty = sp.RepetitionPenalty.ToScalar();
                using var zero = 0.0f.ToScalar();
                var penalized = torch.where(v.gt(zero), v.div(penalty), v.mul(penalty));
                x.index_copy_(0, ids, penalized);
            }
        }
        if ((sp.FrequencyPenalty != 0 || sp.PresencePenalty != 0) && output.Count > 0)
        {
            var counts = output.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
            var ids = Ids(counts.Keys, device);
            var c = torch.tensor(counts.Values.Select(n => (float)n).ToArray(), device: device);
            using var freq = sp.FrequencyPenalty.ToScalar();
            using var presence = sp.PresencePenalty.ToScalar();
            var delta = c.mul(freq).add(presence);
            x.index_add_(0, ids, delta, Scalars.Of(-1));
        }
    }

    /// <summary>Last tokens of bad words whose earlier tokens the output currently ends with.</summary>
    public static List<int> BannedByBadWords(IReadOnlyList<int[]> badWords, IReadOnlyList<int> output)
    {
        var banned = new List<int>();
        foreach (var w in badWords)
        {
            if (w.Length == 0) continue;
            int prefix = w.Length - 1;
            if (prefix > output.Count) continue;
            bool match = true;
            for (int i = 0; i < prefix && match; i++) match = output[output.Count - prefix + i] == w[i];
            if (match) banned.Add(w[^1]);
        }
        return banned;
    }

    static Tensor Ids(IEnumerable<int> ids, Device device) => torch.tensor(ids.Select(i => (long)i).ToArray(), device: device);
}
