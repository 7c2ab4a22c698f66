using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Models.ChatTemplates;

/// <summary>Converts System.Text.Json values to template values, and template values back to JSON text
/// exactly as Python's json.dumps writes it.</summary>
internal static class JsonValues
{
    public static object? FromClr(object? v) => v switch
    {
        null => null,
        JsonElement e => FromElement(e),
        JsonNode n => FromNode(n),
        string or bool or long or double or PyDict or List<object?> or object?[] or Undefined or Namespace or Callable => v,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        uint u => (long)u,
        float f => (double)f,
        decimal m => (double)m,
        System.Collections.IDictionary d => FromDictionary(d),
        System.Collections.IEnumerable e => e.Cast<object?>().Select(FromClr).ToList(),
        _ => v.ToString(),
    };

    private static PyDict FromDictionary(System.Collections.IDictionary d)
    {
        var r = new PyDict();
        foreach (System.Collections.DictionaryEntry kv in d) r[FromClr(kv.Key)!] = FromClr(kv.Value);
        return r;
    }

    public static object? FromElement(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var d = new PyDict();
                foreach (var p in e.EnumerateObject()) d[p.Name] = FromElement(p.Value);
                return d;
            case JsonValueKind.Array:
                return e.EnumerateArray().Select(FromElement).ToList();
            case JsonValueKind.String:
                return e.GetString();
            case JsonValueKind.Number:
                return Number(e.GetRawText());
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    public static object? FromNode(JsonNode? n)
    {
        switch (n)
        {
            case null:
                return null;
            case JsonObject o:
                var d = new PyDict();
                foreach (var p in o) d[p.Key] = FromNode(p.Value);
                return d;
            case JsonArray a:
                return a.Select(FromNode).ToList();
            case JsonValue v:
                if (v.TryGetValue<JsonElement>(out var el)) return FromElement(el);
                if (v.TryGetValue<string>(out var s)) return s;
                if (v.TryGetValue<bool>(out var b)) return b;
                if (v.TryGetValue<long>(out var l)) return l;
                if (v.TryGetValue<int>(out var i)) return (long)i;
                if (v.TryGetValue<double>(out var dbl)) return dbl;
                return FromElement(JsonSerializer.SerializeToElement(v));
            default:
                return null;
        }
    }

    // Python's json.loads: integers stay int, anything with a fraction or exponent is float.
    private static object Number(string raw)
    {
        if (raw.IndexOfAny(['.', 'e', 'E']) < 0 && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
            return l;
        return double.Parse(raw, CultureInfo.InvariantCulture);
    }

    /// <summary>json.dumps(v, ensure_ascii, indent, separators, sort_keys).</summary>
    public static string Dumps(object? v, bool ensureAscii = false, object? indent = null, string? itemSep = null, string? keySep = null, bool sortKeys = false)
    {
        string? ind = indent switch
        {
            null or Undefined => null,
            string s => s,
            long n => new string(' ', PyOps.Size(n)),
            _ => throw new RenderError("indent must be an int or a string"),
        };
        itemSep ??= ind == null ? ", " : ",";
        keySep ??= ": ";
        var sb = new StringBuilder();
        Write(sb, v, ensureAscii, ind, itemSep, keySep, sortKeys, 0);
        return sb.ToString();
    }

    private static void Newline(StringBuilder sb, string? ind, int level)
    {
        if (ind == null) return;
        sb.Append('\n');
        for (int i = 0; i < level; i++) sb.Append(ind);
    }

    private static void Write(StringBuilder sb, object? v, bool ascii, string? ind, string itemSep, string keySep, bool sort, int level)
    {
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyFormat.FloatRepr(d));
                break;
            case string s: WriteString(sb, s, ascii); break;
            case PyDict dict:
                if (dict.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                IEnumerable<KeyValuePair<object, object?>> entries = dict;
                if (sort) entries = entries.OrderBy(kv => kv.Key, Comparer<object>.Create((a, b) => PyOps.Compare(a, b)));
                bool first = true;
                foreach (var kv in entries)
                {
                    if (!first) sb.Append(itemSep);
                    first = false;
                    Newline(sb, ind, level + 1);
                    WriteString(sb, KeyString(kv.Key), ascii);
                    sb.Append(keySep);
                    Write(sb, kv.Value, ascii, ind, itemSep, keySep, sort, level + 1);
                }
                Newline(sb, ind, level);
                sb.Append('}');
                break;
            default:
                if (PyOps.AsSeq(v) is { } seq)
                {
                    if (seq.Count == 0) { sb.Append("[]"); break; }
                    sb.Append('[');
                    for (int i = 0; i < seq.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSep);
                        Newline(sb, ind, level + 1);
                        Write(sb, seq[i], ascii, ind, itemSep, keySep, sort, level + 1);
                    }
                    Newline(sb, ind, level);
                    sb.Append(']');
                    break;
                }
                throw new RenderError($"Object of type {PyOps.TypeName(v)} is not JSON serializable");
        }
    }

    private static string KeyString(object key) => key switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        long or double => PyFormat.Str(key),
        _ => throw new RenderError($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
    };

    private static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e))
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
