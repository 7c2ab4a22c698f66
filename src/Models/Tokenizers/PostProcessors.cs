using System.Text.Json;

namespace Pipeline.Models.Tokenizers;

/// <summary>Adds special tokens around one encoded sequence, or joins a pair (tokenizer.json "post_processor").</summary>
internal interface IPostProcessor
{
    List<int> Process(List<int> ids);
    /// <summary>A sequence pair (cross-encoder input) with its token type ids; null when this step does not join pairs.</summary>
    (List<int> Ids, List<int> TypeIds)? ProcessPair(List<int> a, List<int> b);
}

/// <summary>One template piece: fixed special ids, or sequence "A" / "B", with its token type id.</summary>
internal sealed record TemplatePiece(int[]? Special, string? Sequence, int TypeId);

/// <summary>TemplateProcessing (and Bert/Roberta processing expressed as templates).</summary>
internal sealed class TemplateProcessor(IReadOnlyList<TemplatePiece> single, IReadOnlyList<TemplatePiece>? pair) : IPostProcessor
{
    public List<int> Process(List<int> ids)
    {
        var result = new List<int>(ids.Count + 4);
        foreach (var part in single)
        {
            if (part.Special is null) result.AddRange(ids);
            else result.AddRange(part.Special);
        }
        return result;
    }

    public (List<int> Ids, List<int> TypeIds)? ProcessPair(List<int> a, List<int> b)
    {
        if (pair is null) return null;
        var ids = new List<int>(a.Count + b.Count + 4);
        var types = new List<int>(ids.Capacity);
        foreach (var part in pair)
        {
            var add = part.Special ?? (part.Sequence == "B" ? b : a).ToArray();
            ids.AddRange(add);
            types.AddRange(Enumerable.Repeat(part.TypeId, add.Length));
        }
        return (ids, types);
    }
}

internal sealed class SequenceProcessor(IReadOnlyList<IPostProcessor> steps) : IPostProcessor
{
    public List<int> Process(List<int> ids)
    {
        foreach (var s in steps) ids = s.Process(ids);
        return ids;
    }

    public (List<int> Ids, List<int> TypeIds)? ProcessPair(List<int> a, List<int> b)
    {
        foreach (var s in steps)
            if (s.ProcessPair(a, b) is { } joined) return joined;
        return null;
    }
}

/// <summary>ByteLevel only trims offsets, which this library does not track.</summary>
internal sealed class IdentityProcessor : IPostProcessor
{
    public List<int> Process(List<int> ids) => ids;
    public (List<int> Ids, List<int> TypeIds)? ProcessPair(List<int> a, List<int> b) => null;
}

internal static class PostProcessorLoader
{
    public static IPostProcessor? Load(JsonReader json, JsonElement e, string path)
    {
        if (JsonReader.IsNull(e)) return null;
        string type = json.Type(e, path);
        switch (type)
        {
            case "ByteLevel":
                return new IdentityProcessor();
            case "BertProcessing":
            case "RobertaProcessing":
            {
                int cls = TokenPairId(json, json.Required(e, "cls", path), path + ".cls");
                int sep = TokenPairId(json, json.Required(e, "sep", path), path + ".sep");
                TemplatePiece Cls = new([cls], null, 0), A = new(null, "A", 0);
                // BERT: [CLS] A [SEP] B [SEP] with B's part typed 1; RoBERTa: <s> A </s></s> B </s>, all type 0.
                IReadOnlyList<TemplatePiece> pairTemplate = type == "BertProcessing"
                    ? [Cls, A, new([sep], null, 0), new(null, "B", 1), new([sep], null, 1)]
                    : [Cls, A, new([sep], null, 0), new([sep], null, 0), new(null, "B", 0), new([sep], null, 0)];
                return new TemplateProcessor([Cls, A, new([sep], null, 0)], pairTemplate);
            }
            case "TemplateProcessing":
            {
                var specials = new Dictionary<string, int[]>();
                if (json.Optional(e, "special_tokens") is { ValueKind: JsonValueKind.Object } st)
                {
                    foreach (var prop in st.EnumerateObject())
                    {
                        var idsEl = json.Required(prop.Value, "ids", $"{path}.special_tokens.{prop.Name}");
                        specials[prop.Name] = idsEl.EnumerateArray().Select(x => x.GetInt32()).ToArray();
                    }
                }
                var single = Template(json, json.Required(e, "single", path), specials, path + ".single");
                var pairEl = json.Optional(e, "pair");
                var pair = pairEl is { ValueKind: JsonValueKind.Array } pe ? Template(json, pe, specials, path + ".pair") : null;
                return new TemplateProcessor(single, pair);
            }
            case "Sequence":
            {
                var arr = json.Required(e, "processors", path);
                var steps = new List<IPostProcessor>();
                int i = 0;
                foreach (var item in arr.EnumerateArray())
                    if (Load(json, item, $"{path}.processors[{i++}]") is { } p) steps.Add(p);
                return new SequenceProcessor(steps);
            }
            default:
                throw json.Error($"unsupported post_processor type \"{type}\" at \"{path}\"");
        }
    }

    private static List<TemplatePiece> Template(JsonReader json, JsonElement template, Dictionary<string, int[]> specials, string path)
    {
        if (template.ValueKind != JsonValueKind.Array) throw json.Error($"\"{path}\" must be an array");
        var parts = new List<TemplatePiece>();
        foreach (var item in template.EnumerateArray())
        {
            if (json.Optional(item, "SpecialToken") is { } sp)
            {
                string id = json.String(sp, "id", path + ".SpecialToken");
                var ids = specials.TryGetValue(id, out var found) ? found
                    : throw json.Error($"TemplateProcessing refers to special token \"{id}\" missing from special_tokens");
                parts.Add(new TemplatePiece(ids, null, TypeId(sp)));
            }
            else if (json.Optional(item, "Sequence") is { } seq)
                parts.Add(new TemplatePiece(null, seq.TryGetProperty("id", out var sid) && sid.GetString() == "B" ? "B" : "A", TypeId(seq)));
            else throw json.Error($"\"{path}\" items must be SpecialToken or Sequence");
        }
        return parts;
    }

    private static int TypeId(JsonElement e) => e.TryGetProperty("type_id", out var t) && t.TryGetInt32(out var v) ? v : 0;

    private static int TokenPairId(JsonReader json, JsonElement pair, string path)
    {
        if (pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2 && pair[1].TryGetInt32(out int id)) return id;
        throw json.Error($"\"{path}\" must be [token, id]");
    }
}
