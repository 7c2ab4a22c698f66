using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Reads a Python list of calls with literal keyword arguments and writes each call's arguments as JSON, spaced as
/// Python's json.dumps spaces them (vLLM's output). Returns null on anything else; never throws.
/// </summary>
sealed class PythonCallReader(string s, int start)
{
    int _i = start;
    int _depth;

    public int Position => _i;

    public List<ParsedToolCall>? ReadList(ToolSet tools)
    {
        if (!Eat('[')) return null;
        var calls = new List<ParsedToolCall>();
        if (Eat(']')) return null;
        while (true)
        {
            var call = ReadCall(tools);
            if (call == null) return null;
            calls.Add(call);
            if (Eat(']')) return calls;
            if (!Eat(',')) return null;
        }
    }

    ParsedToolCall? ReadCall(ToolSet tools)
    {
        var name = Identifier(allowDots: true);
        if (name == null || !tools.Contains(name) || !Eat('(')) return null;
        var args = new StringBuilder("{");
        var seen = new HashSet<string>();
        while (!Eat(')'))
        {
            if (seen.Count > 0 && !Eat(',')) return null;
            if (Eat(')')) break;
            var key = Identifier(allowDots: false);
            if (key == null || !seen.Add(key) || !Eat('=')) return null;
            if (seen.Count > 1) args.Append(", ");
            args.Append(JsonString(key)).Append(": ");
            if (!Value(args)) return null;
        }
        return new(name, args.Append('}').ToString());
    }

    bool Value(StringBuilder o)
    {
        if (++_depth > 64) return false;
        try
        {
            Skip();
            if (_i >= s.Length) return false;
            char c = s[_i];
            if (c is '"' or '\'') return Str() is { } str && o.Append(JsonString(str)) != null;
            if (c is '[' or '(') return Sequence(o, c == '[' ? ']' : ')');
            if (c == '{') return Dict(o);
            if (c is '-' or '+' or '.' or (>= '0' and <= '9')) return Number(o);
            var word = Identifier(allowDots: false);
            var lit = word switch { "True" => "true", "False" => "false", "None" => "null", _ => null };
            return lit != null && o.Append(lit) != null;
        }
        finally { _depth--; }
    }

    bool Sequence(StringBuilder o, char close)
    {
        _i++;
        o.Append('[');
        for (int n = 0; ; n++)
        {
            if (Eat(close)) break;
            if (n > 0) { if (!Eat(',')) return false; if (Eat(close)) break; o.Append(", "); }
            if (!Value(o)) return false;
        }
        o.Append(']');
        return true;
    }

    bool Dict(StringBuilder o)
    {
        _i++;
        o.Append('{');
        for (int n = 0; ; n++)
        {
            if (Eat('}')) break;
            if (n > 0) { if (!Eat(',')) return false; if (Eat('}')) break; o.Append(", "); }
            Skip();
            if (_i >= s.Length || s[_i] is not ('"' or '\'') || Str() is not { } key || !Eat(':')) return false;
            o.Append(JsonString(key)).Append(": ");
            if (!Value(o)) return false;
        }
        o.Append('}');
        return true;
    }

    bool Number(StringBuilder o)
    {
        int from = _i;
        while (_i < s.Length && (char.IsAsciiDigit(s[_i]) || s[_i] is '-' or '+' or '.' or 'e' or 'E' or '_')) _i++;
        var text = s[from.._i].Replace("_", "");
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) { o.Append(l.ToString(CultureInfo.InvariantCulture)); return true; }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d)) return false;
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        o.Append(r.Contains('.') || r.Contains('E') ? r : r + ".0");
        return true;
    }

    string? Str()
    {
        char q = s[_i++];
        var sb = new StringBuilder();
        while (_i < s.Length)
        {
            char c = s[_i++];
            if (c == q) return sb.ToString();
            if (c != '\\') { sb.Append(c); continue; }
            if (_i >= s.Length) return null;
            char e = s[_i++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '\\': case '\'': case '"': sb.Append(e); break;
                case 'u' when _i + 4 <= s.Length && int.TryParse(s.AsSpan(_i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var u):
                    sb.Append((char)u); _i += 4; break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        return null;
    }

    string? Identifier(bool allowDots)
    {
        Skip();
        int from = _i;
        while (_i < s.Length && (char.IsLetterOrDigit(s[_i]) || s[_i] == '_' || (allowDots && s[_i] is '.' or '-'))) _i++;
        return _i == from || char.IsDigit(s[from]) ? null : s[from.._i];
    }

    bool Eat(char c)
    {
        Skip();
        if (_i < s.Length && s[_i] == c) { _i++; return true; }
        return false;
    }

    void Skip() { while (_i < s.Length && char.IsWhiteSpace(s[_i])) _i++; }

    static string JsonString(string v)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) w.WriteStringValue(v);
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
