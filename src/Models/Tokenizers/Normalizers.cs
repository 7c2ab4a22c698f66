using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.Models.Tokenizers;

/// <summary>Rewrites a text segment before pre-tokenization (tokenizer.json "normalizer").</summary>
internal interface INormalizer
{
    string Normalize(string text);
}

internal sealed class UnicodeNormalizer(NormalizationForm form) : INormalizer
{
    public string Normalize(string text) => text.IsNormalized(form) ? text : text.Normalize(form);
}

internal sealed class LowercaseNormalizer : INormalizer
{
    public string Normalize(string text) => Lower(text);

    /// <summary>Rust's char::to_lowercase: simple mappings, except U+0130 which lowercases to "i\u0307".</summary>
    public static string Lower(string text)
    {
        if (!text.Contains('\u0130')) return text.ToLowerInvariant();
        return string.Join("i\u0307", text.Split('\u0130').Select(p => p.ToLowerInvariant()));
    }
}

internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public string Normalize(string text) => (left, right) switch
    {
        (true, true) => text.Trim(),
        (true, false) => text.TrimStart(),
        (false, true) => text.TrimEnd(),
        _ => text,
    };
}

internal sealed class StripAccentsNormalizer : INormalizer
{
    public string Normalize(string text) => RemoveNonSpacingMarks(text);

    public static string RemoveNonSpacingMarks(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var r in text.EnumerateRunes())
            if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark) sb.Append(r);
        return sb.ToString();
    }
}

internal sealed class ReplaceNormalizer(Regex pattern, string content) : INormalizer
{
    public Regex Pattern { get; } = pattern;
    public string Content { get; } = content;

    public string Normalize(string text) => Pattern.Replace(text, Content.Replace("$", "$$"));
}

internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

internal sealed class BertNormalizer(bool cleanText, bool chineseChars, bool? stripAccents, bool lowercase) : INormalizer
{
    public string Normalize(string text)
    {
        if (cleanText || chineseChars)
        {
            var sb = new StringBuilder(text.Length);
            foreach (var r in text.EnumerateRunes())
            {
                if (cleanText)
                {
                    if (r.Value == 0 || r.Value == 0xFFFD || CharClasses.IsControl(r)) continue;
                    if (CharClasses.IsWhitespace(r)) { sb.Append(' '); continue; }
                }
                if (chineseChars && CharClasses.IsChineseChar(r.Value)) sb.Append(' ').Append(r).Append(' ');
                else sb.Append(r);
            }
            text = sb.ToString();
        }
        if (stripAccents ?? lowercase)
            text = StripAccentsNormalizer.RemoveNonSpacingMarks(text.Normalize(NormalizationForm.FormD));
        if (lowercase) text = LowercaseNormalizer.Lower(text);
        return text;
    }
}

internal sealed class SequenceNormalizer(IReadOnlyList<INormalizer> steps) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var s in steps) text = s.Normalize(text);
        return text;
    }
}

internal static class NormalizerLoader
{
    public static INormalizer? Load(JsonReader json, JsonElement e, string path)
    {
        if (JsonReader.IsNull(e)) return null;
        string type = json.Type(e, path);
        return type switch
        {
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(json.Bool(e, "strip_left", true), json.Bool(e, "strip_right", true)),
            "StripAccents" => new StripAccentsNormalizer(),
            "Replace" => new ReplaceNormalizer(json.Pattern(e, path), json.String(e, "content", path)),
            "Prepend" => new PrependNormalizer(json.String(e, "prepend", path)),
            "BertNormalizer" => new BertNormalizer(json.Bool(e, "clean_text", true), json.Bool(e, "handle_chinese_chars", true),
                json.Optional(e, "strip_accents") is { } sa ? sa.ValueKind == JsonValueKind.True : null, json.Bool(e, "lowercase", true)),
            "Sequence" => new SequenceNormalizer(LoadList(json, json.Required(e, "normalizers", path), path + ".normalizers")),
            _ => throw json.Error($"unsupported normalizer type \"{type}\" at \"{path}\""),
        };
    }

    private static List<INormalizer> LoadList(JsonReader json, JsonElement arr, string path)
    {
        if (arr.ValueKind != JsonValueKind.Array) throw json.Error($"\"{path}\" must be an array");
        var list = new List<INormalizer>();
        int i = 0;
        foreach (var item in arr.EnumerateArray())
            if (Load(json, item, $"{path}[{i++}]") is { } n) list.Add(n);
        return list;
    }
}
