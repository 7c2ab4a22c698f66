using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Sampling;

/// <summary>
/// Applies <see cref="WhisperDecodingParams"/> to one request's logits row before sampling, in transformers' order:
/// begin-suppress, suppress, then the timestamp rules (pairs of timestamps except right before end of text, no
/// timestamp earlier than the last one, a timestamp first and no later than max_initial_timestamp_index, and a
/// timestamp forced whenever the timestamps' total probability beats every text token's).
/// </summary>
public static class WhisperLogitsProcessor
{
    /// <param name="row">float32 logits [vocab] of the next token, edited in place.</param>
    /// <param name="output">The tokens generated after the decoder prompt so far.</param>
    public static void Apply(Tensor row, WhisperDecodingParams p, IReadOnlyList<int> output)
    {
        var x = row.cpu().to_type(ScalarType.Float32).data<float>().ToArray();
        Apply(x, p, output);
        using var edited = torch.tensor(x).to(row.device).to_type(row.dtype);
        row.copy_(edited);
    }

    public static void Apply(float[] x, WhisperDecodingParams p, IReadOnlyList<int> output)
    {
        int vocab = x.Length;
        if (output.Count == 0)
            foreach (var t in p.BeginSuppressTokens) if (t >= 0 && t < vocab) x[t] = float.NegativeInfinity;
        foreach (var t in p.SuppressTokens) if (t >= 0 && t < vocab) x[t] = float.NegativeInfinity;
        if (p.Timestamps) Timestamps(x, p, output);
    }

    static void Timestamps(float[] x, WhisperDecodingParams p, IReadOnlyList<int> output)
    {
        int tb = p.TimestampBegin, vocab = x.Length, n = output.Count;
        x[p.NoTimestampsTokenId] = float.NegativeInfinity;
        bool last = n >= 1 && output[n - 1] >= tb;
        bool penultimate = n < 2 || output[n - 2] >= tb;
        if (last)
        {
            if (penultimate) Fill(x, tb, vocab);   // a pair just closed: text (or end of text) comes next
            else Fill(x, 0, p.EosTokenId);          // an open pair: a timestamp or end of text
        }
        int lastTimestamp = -1;
        for (int i = n - 1; i >= 0; i--) if (output[i] >= tb) { lastTimestamp = output[i]; break; }
        if (lastTimestamp >= 0)
            Fill(x, tb, last && !penultimate ? lastTimestamp : lastTimestamp + 1);
        if (n == 0)
        {
            Fill(x, 0, tb);
            if (p.MaxInitialTimestampIndex is int maxInitial) Fill(x, tb + maxInitial + 1, vocab);
        }
        // the timestamps' total probability against the likeliest text token
        double max = double.NegativeInfinity;
        foreach (var v in x) if (v > max) max = v;
        if (double.IsNegativeInfinity(max)) return;
        double sum = 0;
        foreach (var v in x) sum += Math.Exp(v - max);
        double logZ = max + Math.Log(sum);
        double tsMax = double.NegativeInfinity, textMax = double.NegativeInfinity;
        for (int i = tb; i < vocab; i++) tsMax = Math.Max(tsMax, x[i]);
        for (int i = 0; i < tb; i++) textMax = Math.Max(textMax, x[i]);
        if (double.IsNegativeInfinity(tsMax)) return;
        double tsSum = 0;
        for (int i = tb; i < vocab; i++) tsSum += Math.Exp(x[i] - tsMax);
        double tsLogprob = tsMax + Math.Log(tsSum) - logZ, textLogprob = textMax - logZ;
        if (tsLogprob > textLogprob) Fill(x, 0, tb);
    }

    static void Fill(float[] x, int from, int to)
    {
        for (int i = Math.Max(0, from); i < Math.Min(x.Length, to); i++) x[i] = float.NegativeInfinity;
    }
}
