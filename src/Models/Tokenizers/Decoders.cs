using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.Models.Tokenizers;

/// <summary>One step of the decoder chain: rewrites the token strings (tokenizer.json "decoder").</summary>
internal interface IDecoder
{
    List<string> Decode(List<string> tokens);
}

internal sealed class ByteLevelDecoder : IDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var t in tokens)
        {
            bool allMapped = true;
            foreach (char c in t)
                if (ByteLevelAlphabet.CharToByte(c) < 0) { allMapped = false; break; }
            if (allMapped)
                foreach (char c in t) bytes.Add((byte)ByteLevelAlphabet.CharToByte(c));
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(t));
        }
        return [Utf8Lossy.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}

internal sealed class MetaspaceDecoder(char replacement, bool stripFirst) : IDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            // Mirrors the reference: in the first token every replacement char is dropped, not only the leading one.
            result.Add(i == 0 && stripFirst ? tokens[i].Replace(replacement.ToString(), "") : tokens[i].Replace(replacement, ' '));
        }
        return result;
    }
}

internal sealed class ReplaceDecoder(Regex pattern, string content) : IDecoder
{
    private readonly string _replacement = content.Replace("$", "$$");

    public List<string> Decode(List<string> tokens) => tokens.ConvertAll(t => pattern.Replace(t, _replacement));
}

internal sealed class ByteFallbackDecoder : IDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        foreach (var t in tokens)
        {
            if (TryParseByte(t, out byte b)) { pending.Add(b); continue; }
            Flush(pending, result);
            result.Add(t);
        }
        Flush(pending, result);
        return result;
    }

    internal static bool TryParseByte(string t, out byte b)
    {
        b = 0;
        return t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
            && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out b);
    }

    private static void Flush(List<byte> pending, List<string> result)
    {
        if (pending.Count == 0) return;
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending);
        if (Utf8Lossy.IsValid(span)) result.Add(Encoding.UTF8.GetString(span));
        else for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD");
        pending.Clear();
    }
}

internal sealed class FuseDecoder : IDecoder
{
    public List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
}

internal sealed class StripDecoder(char content, int start, int stop) : IDecoder
{
    public List<string> Decode(List<string> tokens) => tokens.ConvertAll(t =>
    {
        int s = 0, e = t.Length;
        while (s < e && s < start && t[s] == content) s++;
        int stripped = 0;
        while (e > s && stripped < stop && t[e - 1] == content) { e--; stripped++; }
        return t[s..e];
    });
}

internal sealed class WordPieceDecoder(string prefix, bool cleanup) : IDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i];
            if (i != 0)
                t = t.StartsWith(prefix, StringComparison.Ordinal) ? t[prefix.Length..] : " " + t;
            result.Add(cleanup ? Cleanup(t) : t);
        }
        return result;
    }

    internal static string Cleanup(string s) => s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" do not", " don't").Replace(" 's", "'s")
        .Replace(" 've", "'ve").Replace(" 're", "'re");
}

internal sealed class BpeSuffixDecoder(string suffix) : IDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++) result.Add(tokens[i].Replace(suffix, i == tokens.Count - 1 ? "" : " "));
        return result;
    }
}

internal sealed class SequenceDecoder(IReadOnlyList<IDecoder> steps) : IDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        foreach (var s in steps) tokens = s.Decode(tokens);
        return tokens;
    }
}

internal static class DecoderLoader
{
    public static IDecoder? Load(JsonReader json, JsonElement e, string path)
    {
        if (JsonReader.IsNull(e)) return null;
        string type = json.Type(e, path);
        switch (type)
        {
            case "ByteLevel": return new ByteLevelDecoder();
            case "Metaspace":
                return new MetaspaceDecoder(PreTokenizerLoader.Replacement(json, e, path), PreTokenizerLoader.PrependScheme(json, e) != "never");
            case "Replace": return new ReplaceDecoder(json.Pattern(e, path), json.String(e, "content", path));
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Strip":
            {
                string content = json.String(e, "content", path);
                if (content.Length != 1) throw json.Error($"\"{path}.content\" must be a single character");
                return new StripDecoder(content[0], json.Int(e, "start", 0), json.Int(e, "stop", 0));
            }
            case "WordPiece": return new WordPieceDecoder(json.OptString(e, "prefix") ?? "##", json.Bool(e, "cleanup", true));
            case "BPEDecoder": return new BpeSuffixDecoder(json.OptString(e, "suffix") ?? "</w>");
            case "Sequence":
            {
                var arr = json.Required(e, "decoders", path);
                var steps = new List<IDecoder>();
                int i = 0;
                foreach (var item in arr.EnumerateArray())
                    if (Load(json, item, $"{path}.decoders[{i++}]") is { } d) steps.Add(d);
                return new SequenceDecoder(steps);
            }
            default:
                throw json.Error($"unsupported decoder type \"{type}\" at \"{path}\"");
        }
    }
}
