using System.Text.Json;

namespace Pipeline.Models.Tokenizers;

internal static class PreTokenizerLoader
{
    public static IPreTokenizer? Load(JsonReader json, JsonElement e, string path)
    {
        if (JsonReader.IsNull(e)) return null;
        string type = json.Type(e, path);
        switch (type)
        {
            case "Split":
                return new SplitPreTokenizer(json.Pattern(e, path), Behavior(json, e, path, "Isolated"), json.Bool(e, "invert", false));
            case "ByteLevel":
                return new ByteLevelPreTokenizer(json.Bool(e, "add_prefix_space", true), json.Bool(e, "use_regex", true));
            case "Metaspace":
                return new MetaspacePreTokenizer(Replacement(json, e, path), PrependScheme(json, e), json.Bool(e, "split", true));
            case "Whitespace":
                return new WhitespacePreTokenizer();
            case "WhitespaceSplit":
                return new PredicatePreTokenizer(CharClasses.IsWhitespace, SplitBehavior.Removed);
            case "BertPreTokenizer":
                return new BertPreTokenizer();
            case "Punctuation":
                return new PredicatePreTokenizer(CharClasses.IsPunctuation, Behavior(json, e, path, "Isolated"));
            case "Digits":
                return new PredicatePreTokenizer(CharClasses.IsNumeric,
                    json.Bool(e, "individual_digits", false) ? SplitBehavior.Isolated : SplitBehavior.Contiguous);
            case "Sequence":
            {
                var arr = json.Required(e, "pretokenizers", path);
                if (arr.ValueKind != JsonValueKind.Array) throw json.Error($"\"{path}.pretokenizers\" must be an array");
                var steps = new List<IPreTokenizer>();
                int i = 0;
                foreach (var item in arr.EnumerateArray())
                    if (Load(json, item, $"{path}.pretokenizers[{i++}]") is { } p) steps.Add(p);
                return new SequencePreTokenizer(steps);
            }
            default:
                throw json.Error($"unsupported pre_tokenizer type \"{type}\" at \"{path}\"");
        }
    }

    internal static char Replacement(JsonReader json, JsonElement e, string path)
    {
        string r = json.OptString(e, "replacement") ?? "\u2581";
        return r.Length == 1 ? r[0] : throw json.Error($"\"{path}.replacement\" must be a single character");
    }

    internal static string PrependScheme(JsonReader json, JsonElement e)
    {
        if (json.OptString(e, "prepend_scheme") is { } s)
            return s is "always" or "first" or "never" ? s : throw json.Error($"unsupported Metaspace prepend_scheme \"{s}\"");
        return json.Bool(e, "add_prefix_space", true) ? "always" : "never";
    }

    private static SplitBehavior Behavior(JsonReader json, JsonElement e, string path, string fallback)
    {
        string b = json.OptString(e, "behavior") ?? fallback;
        return b switch
        {
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            _ => throw json.Error($"unsupported split behavior \"{b}\" at \"{path}\""),
        };
    }
}
