using System.Text.Json;

namespace Pipeline.Models.Tokenizers;

/// <summary>Adds special tokens around a single encoded sequence (tokenizer.json "post_processor").</summary>
internal interface IPostProcessor
{
    List<int> Process(List<int> ids);
}

/// <summary>Template pieces: a fixed list of special ids, or the sequence itself (null).</summary>
internal sealed class TemplateProcessor(IReadOnlyList<int[]?> single) : IPostProcessor
{
    public List<int> Process(List<int> ids)
    {
        var result = new List<int>(ids.Count + 4);
        foreach (var part in single)
        {
            if (part is null) result.AddRange(ids);
            else result.AddRange(part);
        }
        return result;
    }
}

internal sealed class SequenceProcessor(IReadOnlyList<IPostProcessor> steps) : IPostProcessor
{
    public List<int> Process(List<int> ids)
    {
        foreach (var s in steps) ids = s.Process(ids);
        return ids;
    }
}

/// <summary>ByteLevel only trims offsets, which this library does not track.</summary>
internal sealed class IdentityProcessor : IPostProcessor
{
    public List<int> Process(List<int> ids) => ids;
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
                return new TemplateProcessor([[cls], null, [sep]]);
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
                var single = json.Required(e, "single", path);
                if (single.ValueKind != JsonValueKind.Array) throw json.Error($"\"{path}.single\" must be an array");
                var parts = new List<int[]?>();
                foreach (var item in single.EnumerateArray())
                {
                    if (json.Optional(item, "SpecialToken") is { } sp)
                    {
                        string id = json.String(sp, "id", path + ".single.SpecialToken");
                        parts.Add(specials.TryGetValue(id, out var ids) ? ids
                            : throw json.Error($"TemplateProcessing refers to special token \"{id}\" missing from \"{path}.special_tokens\""));
                    }
                    else if (json.Optional(item, "Sequence") is not null) parts.Add(null);
                    else throw json.Error($"\"{path}.single\" items must be SpecialToken or Sequence");
                }
                return new TemplateProcessor(parts);
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

    private static int TokenPairId(JsonReader json, JsonElement pair, string path)
    {
        if (pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2 && pair[1].TryGetInt32(out int id)) return id;
        throw json.Error($"\"{path}\" must be [token, id]");
    }
}
