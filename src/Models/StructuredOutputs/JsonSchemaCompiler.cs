using System.Text.Encodings.Web;
using System.Text.Json;
using static Pipeline.Models.StructuredOutputs.GrammarExpr;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// A JSON schema as a grammar whose every sentence validates against it. Supported: type (one or several), object
/// properties in their declared order with required ones always present (undeclared properties are not generated, as
/// xgrammar's strict mode), additionalProperties on property-less objects, enum, const, arrays with items, minItems and
/// maxItems, strings with minLength/maxLength or pattern (matched whole) or a few formats, integers and numbers with
/// minimum/maximum (exclusive too), anyOf, oneOf (as anyOf: write disjoint branches), a single-schema allOf, and $ref
/// into $defs/definitions (recursion included). Validation keywords it cannot guarantee are refused with a
/// <see cref="GrammarException"/> naming them; annotations (title, description, default, ...) are ignored.
/// </summary>
public sealed class JsonSchemaCompiler
{
    static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly",
        "$defs", "definitions", "$anchor", "contentMediaType", "contentEncoding", "discriminator", "nullable", "strict",
    };
    static readonly string[] Unsupported =
    [
        "not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies", "patternProperties",
        "propertyNames", "minProperties", "maxProperties", "unevaluatedProperties", "unevaluatedItems", "contains",
        "minContains", "maxContains", "multipleOf", "prefixItems", "additionalItems", "$dynamicRef", "$recursiveRef",
    ];
    static readonly JsonSerializerOptions LiteralJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    readonly JsonElement _root;
    readonly GrammarBuilder _b = new();
    readonly JsonGrammar _j;
    readonly Dictionary<string, int> _refRules = new(StringComparer.Ordinal);
    int _objectCount;

    JsonSchemaCompiler(JsonElement root)
    {
        _root = root;
        _j = new JsonGrammar(_b);
    }

    public static Grammar Compile(string schemaJson)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(schemaJson); }
        catch (JsonException e) { throw new GrammarException("json schema", $"the JSON schema is not valid JSON: {e.Message}"); }
        using (doc) return Compile(doc.RootElement);
    }

    public static Grammar Compile(JsonElement schema)
    {
        var c = new JsonSchemaCompiler(schema.Clone());
        int root = c._b.Add("root", c.Schema(c._root, "#"));
        return c._b.Build(root);
    }

    /// <summary>Any JSON object (response_format json_object).</summary>
    public static Grammar AnyObject()
    {
        var b = new GrammarBuilder();
        var j = new JsonGrammar(b);
        return b.Build(b.Add("root", j.AnyObject()));
    }

    static GrammarException Fail(string feature, string path, string what) => new(feature, $"JSON schema at {path}: {what}");

    GrammarExpr Schema(JsonElement s, string path)
    {
        if (s.ValueKind == JsonValueKind.True) return _j.Value;
        if (s.ValueKind == JsonValueKind.False) throw Fail("false schema", path, "the schema false allows nothing");
        if (s.ValueKind != JsonValueKind.Object) throw Fail("json schema", path, $"a schema must be an object or a boolean, got {s.ValueKind}");
        foreach (var k in Unsupported)
            if (s.TryGetProperty(k, out _)) throw Fail(k, path, $"'{k}' is not supported in structured outputs");
        if (s.TryGetProperty("uniqueItems", out var u) && u.ValueKind == JsonValueKind.True)
            throw Fail("uniqueItems", path, "'uniqueItems' is not supported in structured outputs");

        if (s.TryGetProperty("$ref", out var r)) return Only(s, "$ref", path, () => RefRule(r.GetString() ?? "", path));
        if (s.TryGetProperty("anyOf", out var any)) return Only(s, "anyOf", path, () => Branches(any, path + "/anyOf"));
        if (s.TryGetProperty("oneOf", out var one)) return Only(s, "oneOf", path, () => Branches(one, path + "/oneOf"));
        if (s.TryGetProperty("allOf", out var all))
        {
            if (all.ValueKind != JsonValueKind.Array || all.GetArrayLength() != 1)
                throw Fail("allOf", path, "'allOf' is supported only with a single schema");
            return Only(s, "allOf", path, () => Schema(all[0], path + "/allOf/0"));
        }
        if (s.TryGetProperty("const", out var c)) return Literal(c);
        if (s.TryGetProperty("enum", out var e))
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0) throw Fail("enum", path, "'enum' must be a non-empty array");
            return Either(e.EnumerateArray().Select(Literal).ToList());
        }

        var types = new List<string>();
        if (s.TryGetProperty("type", out var t))
        {
            if (t.ValueKind == JsonValueKind.String) types.Add(t.GetString()!);
            else if (t.ValueKind == JsonValueKind.Array) types.AddRange(t.EnumerateArray().Select(x => x.GetString() ?? ""));
            else throw Fail("type", path, "'type' must be a string or an array of strings");
        }
        else if (s.TryGetProperty("properties", out _) || s.TryGetProperty("additionalProperties", out _) || s.TryGetProperty("required", out _)) types.Add("object");
        else if (s.TryGetProperty("items", out _) || s.TryGetProperty("minItems", out _) || s.TryGetProperty("maxItems", out _)) types.Add("array");
        else if (s.TryGetProperty("pattern", out _) || s.TryGetProperty("minLength", out _) || s.TryGetProperty("maxLength", out _) || s.TryGetProperty("format", out _)) types.Add("string");
        else if (s.TryGetProperty("minimum", out _) || s.TryGetProperty("maximum", out _) || s.TryGetProperty("exclusiveMinimum", out _) || s.TryGetProperty("exclusiveMaximum", out _)) types.Add("number");
        if (types.Count == 0) return _j.Value;
        return Either(types.Distinct().Select(type => type switch
        {
            "object" => Object(s, path),
            "array" => Array(s, path),
            "string" => String(s, path),
            "integer" => Integer(s, path),
            "number" => Number(s, path),
            "boolean" => Either(Lit("true"), Lit("false")),
            "null" => Lit("null"),
            _ => throw Fail("type", path, $"unknown type '{type}'"),
        }).ToList());
    }

    /// <summary>A combinator (anyOf, $ref...) beside which only annotations may stand (merging is not supported).</summary>
    GrammarExpr Only(JsonElement s, string keyword, string path, Func<GrammarExpr> compile)
    {
        foreach (var p in s.EnumerateObject())
            if (p.Name != keyword && !Annotations.Contains(p.Name))
                throw Fail(keyword, path, $"'{keyword}' together with '{p.Name}' is not supported; move '{p.Name}' into the {keyword} schemas");
        return compile();
    }

    GrammarExpr Branches(JsonElement list, string path)
    {
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0) throw Fail("anyOf", path, "must be a non-empty array of schemas");
        return Either(list.EnumerateArray().Select((x, i) => Schema(x, $"{path}/{i}")).ToList());
    }

    GrammarExpr RefRule(string reference, string path)
    {
        if (!reference.StartsWith('#')) throw Fail("$ref", path, $"only local references (#/...) are supported, got '{reference}'");
        if (_refRules.TryGetValue(reference, out int rule)) return new Ref(rule);
        var target = Resolve(reference, path);
        rule = _b.Declare("ref_" + reference);
        _refRules[reference] = rule;
        _b.Define(rule, Schema(target, reference));
        return new Ref(rule);
    }

    JsonElement Resolve(string reference, string path)
    {
        var node = _root;
        var pointer = reference[1..];
        if (pointer.Length == 0) return node;
        if (!pointer.StartsWith('/')) throw Fail("$ref", path, $"anchors are not supported, got '{reference}'");
        foreach (var raw in pointer[1..].Split('/'))
        {
            var part = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(part, out var next)) node = next;
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(part, out int i) && i >= 0 && i < node.GetArrayLength()) node = node[i];
            else throw Fail("$ref", path, $"'{reference}' does not resolve");
        }
        return node;
    }

    static GrammarExpr Literal(JsonElement value) => Lit(JsonSerializer.Serialize(value, LiteralJson));

    GrammarExpr Object(JsonElement s, string path)
    {
        var props = new List<(string Name, GrammarExpr Value)>();
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (s.TryGetProperty("required", out var req))
            foreach (var x in req.EnumerateArray()) required.Add(x.GetString() ?? throw Fail("required", path, "'required' must list strings"));
        if (s.TryGetProperty("properties", out var ps))
            foreach (var p in ps.EnumerateObject()) props.Add((p.Name, Schema(p.Value, $"{path}/properties/{p.Name}")));
        foreach (var name in required)
            if (!props.Any(p => p.Name == name)) props.Add((name, _j.Value));
        bool hasAdditional = s.TryGetProperty("additionalProperties", out var additional);
        if (props.Count == 0)
        {
            if (hasAdditional && additional.ValueKind == JsonValueKind.False) return Of(Lit("{"), _j.Ws, Lit("}"));
            return _j.AnyObject(hasAdditional && additional.ValueKind == JsonValueKind.Object ? Schema(additional, path + "/additionalProperties") : null);
        }

        int id = _objectCount++;
        var member = props.Select(p => Of(Literal(JsonSerializer.SerializeToElement(p.Name)), _j.Ws, Lit(":"), _j.Ws, p.Value)).ToArray();
        bool[] optional = props.Select(p => !required.Contains(p.Name)).ToArray();
        int n = props.Count;
        // after[i]: what may follow once property i is written: a later property (every one between optional), or the end.
        var after = new int[n];
        for (int i = 0; i < n; i++) after[i] = _b.Declare($"obj{id}_after_{i}");
        for (int i = n - 1; i >= 0; i--)
        {
            var alts = new List<GrammarExpr>();
            bool skippable = true;
            for (int k = i + 1; k < n && skippable; k++)
            {
                alts.Add(Of(_j.Ws, Lit(","), _j.Ws, member[k], new Ref(after[k])));
                skippable = optional[k];
            }
            if (skippable) alts.Add(Empty);
            _b.Define(after[i], Either(alts));
        }
        var first = new List<GrammarExpr>();
        bool allOptional = true;
        for (int k = 0; k < n && allOptional; k++)
        {
            first.Add(Of(member[k], new Ref(after[k])));
            allOptional = optional[k];
        }
        if (allOptional) first.Add(Empty);
        return Of(Lit("{"), _j.Ws, Either(first), _j.Ws, Lit("}"));
    }

    GrammarExpr Array(JsonElement s, string path)
    {
        int min = Int(s, "minItems", path) ?? 0;
        int max = Int(s, "maxItems", path) ?? -1;
        if (max >= 0 && max < min) throw Fail("maxItems", path, $"maxItems {max} is below minItems {min}");
        if (Math.Max(min, max) > 10_000) throw Fail("maxItems", path, "minItems/maxItems above 10000 are not supported");
        GrammarExpr item;
        if (!s.TryGetProperty("items", out var items)) item = _j.Value;
        else if (items.ValueKind == JsonValueKind.Array) throw Fail("items", path, "'items' as an array (tuples) is not supported");
        else if (items.ValueKind == JsonValueKind.False)
        {
            if (min > 0) throw Fail("items", path, "items false with minItems > 0 allows nothing");
            return Of(Lit("["), _j.Ws, Lit("]"));
        }
        else item = Schema(items, path + "/items");
        return _j.Array(item, min, max);
    }

    GrammarExpr String(JsonElement s, string path)
    {
        int min = Int(s, "minLength", path) ?? 0;
        int max = Int(s, "maxLength", path) ?? -1;
        if (max >= 0 && max < min) throw Fail("maxLength", path, $"maxLength {max} is below minLength {min}");
        if (Math.Max(min, max) > 10_000) throw Fail("maxLength", path, "minLength/maxLength above 10000 are not supported");
        string? pattern = s.TryGetProperty("pattern", out var p) ? p.GetString() : null;
        if (pattern == null && min == 0 && max < 0 && s.TryGetProperty("format", out var f)) pattern = JsonFormats.Pattern(f.GetString() ?? "");
        if (pattern != null)
        {
            if (min > 0 || max >= 0) throw Fail("pattern", path, "'pattern' (or a format) together with minLength/maxLength is not supported");
            try { return Of(Lit("\""), RegexCompiler.Compile(pattern, JsonGrammar.StringChars), Lit("\"")); }
            catch (GrammarException e) { throw Fail(e.Feature, path + "/pattern", e.Message); }
        }
        if (min == 0 && max < 0) return _j.String;
        return _j.StringWithLength(min, max);
    }

    GrammarExpr Integer(JsonElement s, string path)
    {
        var (min, minEx, max, maxEx) = Bounds(s, path);
        if (min == null && max == null) return _j.Integer;
        long? lo = min is double a ? (long)Math.Clamp(minEx && Math.Floor(a) == a ? a + 1 : Math.Ceiling(a), -1e18, 1e18) : null;
        long? hi = max is double b ? (long)Math.Clamp(maxEx && Math.Floor(b) == b ? b - 1 : Math.Floor(b), -1e18, 1e18) : null;
        try { return JsonGrammar.IntegerRange(lo, hi); }
        catch (GrammarException e) { throw Fail(e.Feature, path, e.Message); }
    }

    GrammarExpr Number(JsonElement s, string path)
    {
        var (min, minEx, max, maxEx) = Bounds(s, path);
        if (min == null && max == null) return _j.Number;
        try { return JsonGrammar.NumberRange(min, minEx, max, maxEx); }
        catch (GrammarException e) { throw Fail(e.Feature, path, e.Message); }
    }

    /// <summary>Bounds from minimum/maximum and exclusiveMinimum/Maximum (numbers, or draft 4's booleans).</summary>
    static (double? Min, bool MinEx, double? Max, bool MaxEx) Bounds(JsonElement s, string path)
    {
        double? min = Num(s, "minimum", path), max = Num(s, "maximum", path);
        bool minEx = false, maxEx = false;
        if (s.TryGetProperty("exclusiveMinimum", out var em))
        {
            if (em.ValueKind == JsonValueKind.True) minEx = true;
            else if (em.ValueKind == JsonValueKind.Number && (min == null || em.GetDouble() >= min)) { min = em.GetDouble(); minEx = true; }
        }
        if (s.TryGetProperty("exclusiveMaximum", out var eM))
        {
            if (eM.ValueKind == JsonValueKind.True) maxEx = true;
            else if (eM.ValueKind == JsonValueKind.Number && (max == null || eM.GetDouble() <= max)) { max = eM.GetDouble(); maxEx = true; }
        }
        return (min, minEx, max, maxEx);
    }

    static double? Num(JsonElement s, string name, string path)
    {
        if (!s.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Fail(name, path, $"'{name}' must be a number");
        return v.GetDouble();
    }

    static int? Int(JsonElement s, string name, string path)
    {
        if (!s.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i < 0) throw Fail(name, path, $"'{name}' must be a non-negative integer");
        return i;
    }
}
