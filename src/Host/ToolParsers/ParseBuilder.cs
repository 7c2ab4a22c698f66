using System.Text;

namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Collects a parser's decided pieces (content text and calls) into a <see cref="ToolParse"/>. Once a call is
/// found, whitespace-only text between and around calls is dropped (it is formatting, not an answer); a partial
/// result also holds back trailing whitespace, which may yet turn out to be such formatting.
/// </summary>
sealed class ParseBuilder
{
    readonly List<string> _pieces = new();
    readonly List<ParsedToolCall> _calls = new();
    bool _lastWasText;

    public void Text(string s)
    {
        if (s.Length == 0) return;
        if (_lastWasText) _pieces[^1] += s;
        else _pieces.Add(s);
        _lastWasText = true;
    }

    public void Call(ParsedToolCall call)
    {
        _calls.Add(call);
        _lastWasText = false;
    }

    public ToolParse Build(bool final)
    {
        var sb = new StringBuilder();
        foreach (var p in _pieces)
            if (_calls.Count == 0 || !string.IsNullOrWhiteSpace(p)) sb.Append(p);
        var content = sb.ToString();
        return new(final ? content : content.TrimEnd(), _calls.ToList());
    }

    /// <summary>How many characters at the end of <paramref name="text"/> could begin <paramref name="marker"/> (held back while streaming).</summary>
    public static int MarkerPrefixAtEnd(string text, string marker)
    {
        for (int k = Math.Min(marker.Length - 1, text.Length); k > 0; k--)
            if (string.CompareOrdinal(text, text.Length - k, marker, 0, k) == 0) return k;
        return 0;
    }

    /// <summary>The longest <see cref="MarkerPrefixAtEnd"/> over several markers.</summary>
    public static int MarkerPrefixAtEnd(string text, IEnumerable<string> markers) => markers.Max(m => MarkerPrefixAtEnd(text, m));
}
