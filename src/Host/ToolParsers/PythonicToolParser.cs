namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Pythonic calls (Llama 3.2 and Llama 4 style): the whole answer is a Python list of calls with keyword arguments,
/// <c>[get_weather(city="Paris", days=3), get_time(tz='CET')]</c>, optionally between &lt;|python_start|&gt; and
/// &lt;|python_end|&gt;. Literal arguments (strings, numbers, True/False/None, lists, tuples, dicts) become JSON. The
/// list is read as a whole at the end and is content unless every call parses and names a requested tool.
/// </summary>
public sealed class PythonicToolParser : ToolParser
{
    public const string PythonStart = "<|python_start|>", PythonEnd = "<|python_end|>";

    public override string Name => "pythonic";

    public override ToolParse Parse(string text, bool final, ToolSet tools)
    {
        int i = JsonText.SkipWhitespace(text, 0);
        bool tagged = string.CompareOrdinal(text, i, PythonStart, 0, PythonStart.Length) == 0;
        if (tagged) i = JsonText.SkipWhitespace(text, i + PythonStart.Length);
        bool undecided = i >= text.Length || (!tagged && PythonStart.StartsWith(text[i..], StringComparison.Ordinal));
        if (!final && undecided) return ToolParse.Nothing;
        if (i >= text.Length || text[i] != '[') return Content(text, final);
        if (!final) return ToolParse.Nothing;
        var reader = new PythonCallReader(text, i);
        var calls = reader.ReadList(tools);
        if (calls == null) return Content(text, true);
        int j = JsonText.SkipWhitespace(text, reader.Position);
        if (tagged && string.CompareOrdinal(text, j, PythonEnd, 0, PythonEnd.Length) == 0) j = JsonText.SkipWhitespace(text, j + PythonEnd.Length);
        return j == text.Length ? new ToolParse("", calls) : Content(text, true);
    }

    static ToolParse Content(string text, bool final)
    {
        var b = new ParseBuilder();
        b.Text(text);
        return b.Build(final);
    }
}
