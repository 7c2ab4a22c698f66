namespace Pipeline.Models.Tokenizers;

/// <summary>The outcome of feeding one text delta to a <see cref="StopChecker"/>.</summary>
/// <param name="Emit">Text that is safe to stream now.</param>
/// <param name="Stopped">A stop string was found; generation should end.</param>
/// <param name="Output">The whole output so far, truncated at the stop string once one is found.</param>
public readonly record struct StopCheckResult(string Emit, bool Stopped, string Output);

/// <summary>
/// Applies stop strings to streamed text like vLLM: the output is cut at the first occurrence of a stop string (or just
/// after it with includeStopStringInOutput), and text that could still be the start of a stop string is held back.
/// </summary>
public sealed class StopChecker
{
    private readonly string[] _stops;
    private readonly bool _include;
    private readonly int _maxStopLength;
    private string _text = "";
    private int _emitted;

    public StopChecker(IEnumerable<string> stopStrings, bool includeStopStringInOutput)
    {
        ArgumentNullException.ThrowIfNull(stopStrings);
        _stops = stopStrings.Where(s => !string.IsNullOrEmpty(s)).ToArray();
        _include = includeStopStringInOutput;
        _maxStopLength = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
    }

    public bool Stopped { get; private set; }

    /// <summary>The stop string that ended the output, if any.</summary>
    public string? MatchedStopString { get; private set; }

    /// <summary>The output so far (including text still held back).</summary>
    public string Output => _text;

    public StopCheckResult Append(string delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        if (Stopped || delta.Length == 0) return new StopCheckResult("", Stopped, _text);
        int searchFrom = Math.Max(0, _text.Length - _maxStopLength + 1);
        _text += delta;
        int bestIndex = -1;
        string? best = null;
        foreach (var stop in _stops)
        {
            int idx = _text.IndexOf(stop, searchFrom, StringComparison.Ordinal);
            if (idx >= 0 && (bestIndex < 0 || idx < bestIndex)) { bestIndex = idx; best = stop; }
        }
        if (best is not null)
        {
            _text = _text[..(_include ? bestIndex + best.Length : bestIndex)];
            Stopped = true;
            MatchedStopString = best;
            return new StopCheckResult(Release(_text.Length), true, _text);
        }
        return new StopCheckResult(Release(_text.Length - HeldBackLength()), false, _text);
    }

    /// <summary>Releases any held-back text when generation ends for another reason (EOS, length).</summary>
    public string Flush() => Release(_text.Length);

    private string Release(int upTo)
    {
        if (upTo <= _emitted) return "";
        string s = _text[_emitted..upTo];
        _emitted = upTo;
        return s;
    }

    /// <summary>Length of the longest tail of the text that is a proper prefix of some stop string.</summary>
    private int HeldBackLength()
    {
        int held = 0;
        var text = _text.AsSpan();
        foreach (var stop in _stops)
        {
            for (int k = Math.Min(stop.Length - 1, text.Length); k > held; k--)
            {
                if (text[^k..].SequenceEqual(stop.AsSpan(0, k))) { held = k; break; }
            }
        }
        return held;
    }
}
