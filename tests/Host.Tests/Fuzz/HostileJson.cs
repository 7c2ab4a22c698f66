using System.Text;

namespace Pipeline.Host.Tests.Fuzz;

/// <summary>
/// Random JSON values and JSON-like byte strings meant to break readers: every JSON type, numbers at and past every
/// limit (2^31, 2^53, 2^63, 1e309, and the non-JSON NaN/Infinity tokens), strings with lone surrogate escapes, control
/// characters, raw invalid UTF-8 and overlong encodings, deep nesting, and huge arrays and strings. Written as bytes,
/// since most of these cannot be built with a JSON writer. Deterministic for a seed.
/// </summary>
public sealed class HostileJson(Random random)
{
    static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "2", "0.5", "-0.5", "1e-400", "2147483647", "2147483648", "-2147483649", "4294967296",
        "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "1e308", "1.7976931348623157e308", "1e309", "-1e309", "3.4e38", "3.5e38", "1E+2", "123456789012345678901234567890",
        "0.0000000000000000000000000001",
    ];
    /// <summary>Not JSON at all: a strict reader must refuse them.</summary>
    static readonly string[] NonJsonNumbers = ["NaN", "-NaN", "Infinity", "-Infinity", "+1", "01", ".5", "1.", "0x10", "1e", "--1"];
    static readonly string[] Strings =
    [
        "", "x", "hi", "user", "assistant", "system", "tool", "auto", "none", "json_object", "length", "stop", "0", "1.5", "true", "null",
        "\\u0000", "\\ud800", "\\udfff", "\\ud800\\u0041", "\\udc00\\ud800", "\\ud83d\\ude00", "emoji \\ud83d\\ude00 ok", "\\t\\n\\r\\b\\f", "\\/",
        "<|endoftext|>", "<|im_start|>user", "{{ raise_exception('x') }}", "{% for x in range(99999999) %}{% endfor %}", "%s%n%x", "../../etc/passwd",
        "\u00e9\u4e2d\u0645", "\\\"quoted\\\"",
    ];
    /// <summary>Bytes inside a string literal that are not valid UTF-8: stray continuation, overlong '/', overlong NUL, an encoded surrogate, past U+10FFFF, a cut sequence.</summary>
    static readonly byte[][] BadUtf8 =
    [
        [0xff], [0xfe, 0xff], [0x80], [0xc0, 0xaf], [0xc0, 0x80], [0xe0, 0x80, 0xaf], [0xf0, 0x80, 0x80, 0xaf],
        [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xc3], [0xf8, 0x88, 0x80, 0x80, 0x80],
    ];

    public Random Random => random;

    /// <summary>Any value: scalars, hostile strings and numbers, arrays and objects, to <paramref name="depth"/> levels.</summary>
    public void Value(MemoryStream o, int depth = 3)
    {
        switch (random.Next(depth <= 0 ? 6 : 11))
        {
            case 0: Write(o, "null"); break;
            case 1: Write(o, random.Next(2) == 0 ? "true" : "false"); break;
            case 2: Write(o, Numbers[random.Next(Numbers.Length)]); break;
            case 3: Write(o, random.Next(-100, 1000).ToString()); break;
            case 4: String(o); break;
            case 5: Write(o, (random.NextDouble() * 4 - 1).ToString("R", System.Globalization.CultureInfo.InvariantCulture)); break;
            case 6 or 7: Array(o, random.Next(0, 5), depth - 1); break;
            case 8 or 9: Object(o, random.Next(0, 4), depth - 1); break;
            default: Huge(o); break;
        }
    }

    /// <summary>A value that is only almost JSON: a non-JSON number, raw bad UTF-8 in a string, deep nesting, a cut-off value.</summary>
    public void Broken(MemoryStream o)
    {
        switch (random.Next(5))
        {
            case 0: Write(o, NonJsonNumbers[random.Next(NonJsonNumbers.Length)]); break;
            case 1:
                Write(o, "\"ab");
                o.Write(BadUtf8[random.Next(BadUtf8.Length)]);
                Write(o, "cd\"");
                break;
            case 2: Deep(o, random.Next(2) == 0 ? random.Next(60, 200) : random.Next(1000, 20000)); break;
            case 3: Write(o, "\"unterminated"); break;
            default: Write(o, random.Next(2) == 0 ? "[1,2," : "{\"a\":"); break;
        }
    }

    public void String(MemoryStream o)
    {
        Write(o, "\"");
        int parts = random.Next(1, 4);
        for (int i = 0; i < parts; i++)
        {
            if (random.Next(8) == 0) Write(o, RandomText(random.Next(0, 40)));
            else Write(o, Strings[random.Next(Strings.Length)]);
        }
        Write(o, "\"");
    }

    void Array(MemoryStream o, int n, int depth)
    {
        Write(o, "[");
        for (int i = 0; i < n; i++)
        {
            if (i > 0) Write(o, ",");
            Value(o, depth);
        }
        Write(o, "]");
    }

    void Object(MemoryStream o, int n, int depth)
    {
        Write(o, "{");
        for (int i = 0; i < n; i++)
        {
            if (i > 0) Write(o, ",");
            String(o);
            Write(o, ":");
            Value(o, depth);
        }
        Write(o, "}");
    }

    /// <summary>Big but within the body limit the fuzz server runs with: a long string, a long list of ints or strings, many keys.</summary>
    void Huge(MemoryStream o)
    {
        switch (random.Next(4))
        {
            case 0: Write(o, "\"" + new string((char)('a' + random.Next(26)), random.Next(10_000, 200_000)) + "\""); break;
            case 1: Write(o, "[" + string.Join(",", Enumerable.Range(0, random.Next(1000, 50_000)).Select(i => (i * 7919 % 200_000).ToString())) + "]"); break;
            case 2: Write(o, "[" + string.Join(",", Enumerable.Range(0, random.Next(100, 5000)).Select(i => $"\"s{i}\"")) + "]"); break;
            default: Write(o, "{" + string.Join(",", Enumerable.Range(0, random.Next(100, 5000)).Select(i => $"\"{i}\":{i % 300 - 150}")) + "}"); break;
        }
    }

    public void Deep(MemoryStream o, int depth)
    {
        bool arrays = random.Next(2) == 0;
        for (int i = 0; i < depth; i++) Write(o, arrays ? "[" : "{\"a\":");
        Write(o, "1");
        for (int i = 0; i < depth; i++) Write(o, arrays ? "]" : "}");
    }

    string RandomText(int n)
    {
        var sb = new StringBuilder(n);
        for (int i = 0; i < n; i++)
        {
            int c = random.Next(6) switch { 0 => random.Next(0x20, 0x7f), 1 => random.Next(0xa0, 0x800), 2 => random.Next(0x800, 0xd800), 3 => random.Next(0xe000, 0xfffe), _ => random.Next('a', 'z' + 1) };
            if (c is '"' or '\\') c = 'q';
            sb.Append((char)c);
        }
        return sb.ToString();
    }

    public static void Write(MemoryStream o, string s) => o.Write(Encoding.UTF8.GetBytes(s));
}
