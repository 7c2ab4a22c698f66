namespace Pipeline.Actors.Speech;

/// <summary>
/// Splits audio longer than one window the way vLLM's speech-to-text serving does: each chunk ends at the quietest
/// 100 ms window (lowest RMS) within the last second before the 30 s limit; the last chunk takes the rest.
/// </summary>
public static class AudioChunker
{
    public static IReadOnlyList<(int Start, int Length)> Split(ReadOnlySpan<float> wav, int sampleRate, int maxClipSeconds = 30,
        int overlapSeconds = 1, int minEnergyWindow = 1600)
    {
        int chunk = sampleRate * maxClipSeconds, overlap = sampleRate * overlapSeconds;
        var chunks = new List<(int, int)>();
        int i = 0;
        while (i < wav.Length)
        {
            if (i + chunk >= wav.Length) { chunks.Add((i, wav.Length - i)); break; }
            int searchStart = i + chunk - overlap, searchEnd = Math.Min(i + chunk, wav.Length);
            int split = QuietestPoint(wav, searchStart, searchEnd, minEnergyWindow);
            if (split <= i) split = i + chunk; // a degenerate window: cut at the limit rather than loop
            chunks.Add((i, split - i));
            i = split;
        }
        return chunks;
    }

    static int QuietestPoint(ReadOnlySpan<float> wav, int start, int end, int window)
    {
        double min = double.PositiveInfinity;
        int quietest = 0;
        for (int i = 0; i < end - start - window; i += window)
        {
            double sum = 0;
            for (int j = 0; j < window; j++) { double v = wav[start + i + j]; sum += v * v; }
            double energy = Math.Sqrt(sum / window);
            if (energy < min) { min = energy; quietest = i + start; }
        }
        return quietest;
    }
}
