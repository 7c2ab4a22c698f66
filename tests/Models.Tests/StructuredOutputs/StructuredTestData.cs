using System.Text;
using System.Text.Json;
using Json.Schema;
using Pipeline.Models.StructuredOutputs;

namespace Pipeline.Models.Tests.StructuredOutputs;

/// <summary>Schemas, regexes and grammars the structured-output tests share, each bounded so a sampled output always ends.</summary>
public static class StructuredTestData
{
    public const string PersonSchema = """
    {"type":"object","properties":{
      "name":{"type":"string","minLength":1,"maxLength":12},
      "age":{"type":"integer","minimum":0,"maximum":150},
      "score":{"type":"number","minimum":-5.5,"exclusiveMaximum":99.5},
      "role":{"enum":["admin","user","guest \"quoted\""]},
      "tags":{"type":"array","items":{"type":"string","maxLength":5},"minItems":1,"maxItems":3},
      "address":{"type":"object","properties":{"zip":{"type":"string","pattern":"^[0-9]{5}$"},"city":{"type":"string","maxLength":8}},"required":["zip"],"additionalProperties":false},
      "contact":{"anyOf":[{"type":"null"},{"type":"integer","minimum":-20,"maximum":-3},{"type":"boolean"}]},
      "kind":{"const":"person"}
     },
     "required":["name","age","role","kind"],"additionalProperties":false}
    """;

    public const string LinkedListSchema = """
    {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","minimum":1,"maximum":99},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"],"additionalProperties":false}},
     "$ref":"#/$defs/node"}
    """;

    public const string ItemsSchema = """
    {"type":"array","items":{"oneOf":[{"type":"string","pattern":"^[a-z]{2,4}\\.[a-z]{2}$"},{"type":"integer","exclusiveMinimum":10,"maximum":2000}]},"minItems":2,"maxItems":4}
    """;

    public const string FormatsSchema = """
    {"type":"object","properties":{"id":{"type":"string","format":"uuid"},"day":{"type":"string","format":"date"},"ok":{"type":"boolean"},"ratio":{"type":"number","minimum":0,"maximum":1}},"required":["id","day","ok","ratio"]}
    """;

    public static readonly string[] Schemas = [PersonSchema, LinkedListSchema, ItemsSchema, FormatsSchema];

    public static readonly string[] Regexes =
    [
        @"[A-Z][a-z]{2,6}( [A-Z][a-z]{2,6})?",
        @"\d{3}-\d{4}",
        @"(cat|dog|bird)s?",
        @"[a-z]{1,8}@[a-z]{1,8}\.(com|org)",
        @"[α-ω]{1,4}!",
        @".{1,5}",
        @"[^a-z\n]{2,3}",
    ];

    public static readonly string[] Choices = ["yes", "no", "maybe so", "ünïcode"];

    public const string LarkGrammar = """
    start: pair ("," pair)~0..3
    pair: KEY "=" value
    ?value: INT | "true" | "false"
    KEY: /[a-z]{1,6}/
    %import common.INT
    """;
    public const string LarkReference = @"[a-z]{1,6}=([0-9]+|true|false)(,[a-z]{1,6}=([0-9]+|true|false)){0,3}";

    public const string GbnfGrammar = """
    root ::= "<" a ">"
    a ::= "x" | "<" b ">" # nesting through rules
    b ::= [y-z]{1,3}
    """;
    public const string GbnfReference = @"<(x|<[yz]{1,3}>)>";

    /// <summary>
    /// A 512-token vocabulary for the fixture models (vocab_size 512, EOS 2): every byte but 0-2 as itself, then common
    /// multi-byte pieces of JSON and English, some of which span grammar boundaries ("\",", "\":", "}]").
    /// </summary>
    public static TokenizerVocab FixtureVocab()
    {
        var tokens = new byte[]?[512];
        for (int b = 3; b < 256; b++) tokens[b] = [(byte)b];
        string[] pieces =
        [
            "{\"", "\":", "\",", "\"}", "\": ", ", \"", "}]", "[{", "null", "true", "false", "name", "age", "score", "role", "tags",
            "address", "zip", "city", "contact", "kind", "person", "admin", "user", "guest", "\\\"", "quoted", "next", "\"v\":",
            "00", "12", "123", "99", "-1", "0.", ".5", "e1", "the", "and", " the", " a", "ing", "ion", "cat", "dog", "bird", "s!",
            "yes", "no", "maybe", " so", "ünï", "code", "α", "ω", "β", "γδ", "\n ", "\n  ", "\n    ", "  ", "\"\"", "[]", "{}",
            "com", ".com", ".org", "@", "-20", "2000", "true,", "=1", ",a", "<x>", "<<", ">>", "yy", "zz", "ab.cd", "2024-", "-02-",
            "-12-", "T12:", "Z\"", "\"id\":", "\"day\":", "\"ok\":", "\"ratio\":", "1.0", "0.25", "abcd", "-ef0", "9f",
        ];
        int id = 256;
        foreach (var p in pieces) tokens[id++] = Encoding.UTF8.GetBytes(p);
        var rnd = new Random(7);
        // The rest: random 2-4 byte ASCII strings, so most positions have many candidate tokens.
        while (id < 512)
        {
            var s = new string(Enumerable.Range(0, rnd.Next(2, 5)).Select(_ => (char)rnd.Next(0x20, 0x7f)).ToArray());
            tokens[id++] = Encoding.UTF8.GetBytes(s);
        }
        return new TokenizerVocab(tokens, [2], 512);
    }

    /// <summary>Asserts <paramref name="output"/> parses as JSON and validates against <paramref name="schema"/> (JsonSchema.Net).</summary>
    public static void AssertValid(string schema, string output, string context)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(output); }
        catch (JsonException e) { throw new Xunit.Sdk.XunitException($"{context}: output does not parse ({e.Message}): {output}"); }
        using (doc)
        {
            var result = JsonSchema.FromText(schema).Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(result.IsValid, $"{context}: output does not validate: {output}\n{JsonSerializer.Serialize(result)}");
        }
    }

    /// <summary>Allowed token ids of a matcher's current mask.</summary>
    public static List<int> Allowed(GrammarMatcher m, TokenizerVocab vocab)
    {
        var row = new int[vocab.MaskWords];
        m.FillMask(row);
        var ids = new List<int>();
        for (int w = 0; w < row.Length; w++)
            for (int bit = 0, x = row[w]; x != 0; bit++, x = (int)((uint)x >> 1))
                if ((x & 1) != 0) ids.Add(w * 32 + bit);
        return ids;
    }
}
